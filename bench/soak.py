"""`python -m bench run --soak SECONDS`: Beckon (PostgreSQL, two nodes) with 5,000
visitors chatting and navigating; every minute prints each node's RSS, open FDs and
asyncio task count. They must stay flat (not part of CI: it runs for as long as asked).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.infra import LOAD_CORE, Postgres, Redis, pin_self, raise_nofile
from bench.loadclient import LoadGen
from bench.systems import Beckon

MESSAGE_EVERY_S = 30.0  # per visitor: 5,000 visitors → ~170 msg/s
PAGE_EVERY_S = 10.0  # per visitor: ~500 page views/s


async def soak(seconds: int, visitors: int = 5000, every: float = 60.0) -> int:
    raise_nofile()
    pin_self(LOAD_CORE)
    workdir = Path(tempfile.mkdtemp(prefix="beckon-soak-"))
    redis, pg = Redis(workdir), Postgres(workdir)
    await redis.start()
    await pg.start()
    system = Beckon(workdir, redis, "postgresql", pg)
    gen = None
    samples: list[tuple[float, list[int], list[int], list[int | None]]] = []
    try:
        await system.start()
        await system.prepare_chat(visitors)
        gen = await LoadGen.start()
        setup = await gen.call(
            "setup_chat",
            timeout=1800,
            conversations=visitors,
            inflight=100,
            **system.chat_config(visitors),
        )
        print(
            f"soak: {visitors} conversations open in {setup['setup_s']:.0f}s; "
            f"running {seconds}s (logs in {workdir})",
            flush=True,
        )
        await gen.call("soak_start", message_s=MESSAGE_EVERY_S, page_s=PAGE_EVERY_S)
        t0 = time.monotonic()
        print(
            f"{'t(s)':>6} {'rss MiB n1/n2':>16} {'fds n1/n2':>14} {'tasks n1/n2':>14} "
            f"{'msgs':>9} {'delivered':>10} {'pages':>9} {'dropped':>8}",
            flush=True,
        )
        while True:
            elapsed = time.monotonic() - t0
            st = await gen.call("soak_status")
            rss = [p.rss() // (1 << 20) for p in system.procs]
            fds = [p.fds() for p in system.procs]
            tasks = [await system.tasks(i) for i in range(len(system.procs))]
            samples.append((elapsed, rss, fds, tasks))
            print(
                f"{elapsed:6.0f} {rss[0]:>7}/{rss[1]:<8} {fds[0]:>6}/{fds[1]:<7} "
                f"{tasks[0]!s:>6}/{tasks[1]!s:<7} {st['messages']:>9} {st['delivered']:>10} "
                f"{st['pages']:>9} {st['dropped']:>8}",
                flush=True,
            )
            if elapsed >= seconds:
                break
            await asyncio.sleep(min(every, max(0.0, seconds - elapsed)))
        final = await gen.call("soak_stop")
        print(f"soak done: {final}", flush=True)
        if len(samples) >= 3:
            first, last = samples[1], samples[-1]  # the first sample is still warming up
            print(
                f"drift from t={first[0]:.0f}s to t={last[0]:.0f}s: rss {first[1]}→{last[1]} MiB, "
                f"fds {first[2]}→{last[2]}, tasks {first[3]}→{last[3]}",
                flush=True,
            )
        return 0
    finally:
        if gen is not None:
            await gen.quit()
        await system.stop()
        redis.stop()
        pg.stop()
