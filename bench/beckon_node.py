"""Run `beckon serve` exactly as the CLI does, plus a probe the bench reads.

`python -m bench.beckon_node PROBE_FILE [--uvloop] serve ...` calls `server.cli.main`
with the remaining arguments. The probe, a task on the server's own loop, rewrites
PROBE_FILE every second with `{"tasks": N, "ts": T}` so the soak and memory scenarios
can report asyncio task counts without the server exposing them. `--uvloop` and
the env var BENCH_CPROFILE=FILE are experiment switches (PERF_NOTES.md): the shipped
CLI runs on the default asyncio loop, unprofiled.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time


async def _probe(path: str) -> None:
    while True:
        data = json.dumps({"tasks": len(asyncio.all_tasks()), "ts": time.time()})
        tmp = path + ".tmp"
        with open(tmp, "w") as f:  # noqa: ASYNC230 — 40 bytes once a second
            f.write(data)
        os.replace(tmp, path)
        await asyncio.sleep(1.0)


def main() -> int:
    probe_path = sys.argv[1]
    args = sys.argv[2:]
    use_uvloop = "--uvloop" in args
    if use_uvloop:
        args.remove("--uvloop")
    cprofile_out = os.environ.get("BENCH_CPROFILE")  # profiling experiments (PERF_NOTES.md)
    original_run = asyncio.run

    def run(coro, **kwargs):  # type: ignore[no-untyped-def]
        async def wrapped():  # type: ignore[no-untyped-def]
            probe = asyncio.get_running_loop().create_task(_probe(probe_path))
            try:
                return await coro
            finally:
                probe.cancel()

        if use_uvloop:
            import uvloop

            return uvloop.run(wrapped())
        return original_run(wrapped(), **kwargs)

    asyncio.run = run  # type: ignore[assignment]
    from server.cli import main as cli_main

    if cprofile_out:
        # SIGUSR1 starts a deterministic profile of the node, SIGUSR2 stops it and
        # writes the pstats file (so only the measured phase is profiled).
        import cProfile
        import signal

        profiler = cProfile.Profile()
        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())

        def dump(*_: object) -> None:
            profiler.disable()
            profiler.dump_stats(cprofile_out)

        signal.signal(signal.SIGUSR2, dump)
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
