"""Run `beckon serve` exactly as the CLI does, plus a probe the bench reads.

`python -m bench.beckon_node PROBE_FILE serve ...` calls `server.cli.main` with the
remaining arguments, on the event loop the CLI picks. The probe, a task on the server's
own loop, writes PROBE_FILE with `{"tasks": N, "ts": T}` when PROBE_FILE.ask appears (it
looks twice a second), so the soak and memory scenarios can report asyncio task counts
without the server exposing them, and without counting them when nobody asks. The
env vars BENCH_CPROFILE=FILE and BENCH_TRACEMALLOC=FILE are experiment switches
(bench/README.md, "Profiling").
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time


async def _probe(path: str) -> None:
    """Count the node's tasks when the bench asks (PATH.ask exists): counting 20,000
    sockets' tasks every second would itself be a share of the idle burn (scenario i)."""
    ask = path + ".ask"
    while True:
        if os.path.exists(ask):  # noqa: ASYNC240 — one stat, twice a second
            data = json.dumps({"tasks": len(asyncio.all_tasks()), "ts": time.time()})
            tmp = path + ".tmp"
            with open(tmp, "w") as f:  # noqa: ASYNC230 — 40 bytes, when asked
                f.write(data)
            os.replace(tmp, path)
            os.unlink(ask)
        await asyncio.sleep(0.5)


def _log_gc_pauses(threshold_ms: float) -> None:
    """BENCH_GC_LOG=MS: print every garbage collection that stops the node longer than MS
    (generation, duration, objects collected) to stderr, i.e. the node's log."""
    import gc

    started: list[float] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            ms = (time.perf_counter() - started[0]) * 1000
            if ms >= threshold_ms:
                print(
                    f"gc pause: generation {info['generation']}, {ms:.1f} ms, "
                    f"collected {info['collected']}, tracked {len(gc.get_objects())}",
                    file=sys.stderr,
                    flush=True,
                )

    gc.callbacks.append(callback)


def _tracemalloc_switch(out: str) -> None:
    """BENCH_TRACEMALLOC=FILE: SIGUSR1 starts tracing allocations, SIGUSR2 writes what is
    still allocated since then, grouped by line, to FILE (where idle sockets' memory goes)."""
    import signal
    import tracemalloc

    signal.signal(signal.SIGUSR1, lambda *_: tracemalloc.start(1))

    def dump(*_: object) -> None:
        stats = tracemalloc.take_snapshot().statistics("lineno")
        tracemalloc.stop()
        with open(out, "w") as f:
            for stat in stats[:60]:
                f.write(f"{stat.size:>12} {stat.count:>8} {stat.traceback}\n")

    signal.signal(signal.SIGUSR2, dump)


def main() -> int:
    probe_path = sys.argv[1]
    args = sys.argv[2:]
    cprofile_out = os.environ.get("BENCH_CPROFILE")  # profiling experiments (PERF_NOTES.md)
    import server.cli as cli

    shipped_runner = cli._event_loop_runner

    def runner(command: str):  # type: ignore[no-untyped-def]
        run = shipped_runner(command)  # the loop the shipped CLI picks (uvloop for serve)

        def run_with_probe(coro):  # type: ignore[no-untyped-def]
            async def wrapped():  # type: ignore[no-untyped-def]
                probe = asyncio.get_running_loop().create_task(_probe(probe_path))
                try:
                    return await coro
                finally:
                    probe.cancel()

            return run(wrapped())

        return run_with_probe

    cli._event_loop_runner = runner
    cli_main = cli.main

    if os.environ.get("BENCH_GC_LOG"):
        _log_gc_pauses(float(os.environ["BENCH_GC_LOG"]))
    if os.environ.get("BENCH_TRACEMALLOC"):
        _tracemalloc_switch(os.environ["BENCH_TRACEMALLOC"])
    if cprofile_out:
        # SIGUSR1 starts a deterministic profile of the node, SIGUSR2 stops it and
        # writes the pstats file (so only the measured phase is profiled).
        import cProfile
        import signal

        # CPU time of the loop's thread: wall time would charge the node for Redis and
        # PostgreSQL, which run on the same pinned core (a syscall that wakes them).
        profiler = cProfile.Profile(time.thread_time)
        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())

        def dump(*_: object) -> None:
            profiler.disable()
            profiler.dump_stats(cprofile_out)

        signal.signal(signal.SIGUSR2, dump)
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
