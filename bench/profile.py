"""Profile Beckon's two nodes with py-spy under a fixed chat load (PERF_NOTES.md).

    python -m bench.profile [--rate 300] [--seconds 15] [--conversations 200] [--store postgresql]
    python -m bench.profile --connects 3000 --seconds 20
    python -m bench.profile --behaviour 2000 --rules 200 --seconds 15
    python -m bench.profile --shop 500 --seconds 20 [--blocking]

Starts the bench's private Redis (and PostgreSQL), two `beckon serve` nodes, opens the
conversations, waits until node 1 is idle, then records both nodes with py-spy while
the load generator sends at a fixed open-loop rate. Prints the functions with the most
samples (self, inclusive, and by the task the event loop resumed) per node, the CPU
seconds each process kind used per message (or connect, event, page load) — the figure
that survives a busy machine better than latency does — and the Redis commands per
unit (`INFO commandstats`, commands run inside scripts included).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.infra import LOAD_CORE, CoreMeter, Postgres, Redis, pin_self, raise_nofile
from bench.loadclient import LoadGen
from bench.profile_stacks import by_task, top
from bench.scenarios import node_idle
from bench.systems import Beckon

SHOP_DWELL_S = 10.0  # a page's dwell in scenario (f), as in the bench's plan


async def _redis_commands(redis: Redis) -> collections.Counter[str]:
    """Calls per command so far (`INFO commandstats`)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis.url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return collections.Counter(
        {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    )


def _delta(
    before: collections.Counter[str], after: collections.Counter[str]
) -> collections.Counter[str]:
    return (
        collections.Counter({k: after[k] - before.get(k, 0) for k in after}) - collections.Counter()
    )


async def main(args: argparse.Namespace) -> None:
    raise_nofile()
    pin_self(LOAD_CORE)
    workdir = Path(tempfile.mkdtemp(prefix="beckon-profile-"))
    redis, pg = Redis(workdir), Postgres(workdir)
    await redis.start()
    if args.store == "postgresql":
        await pg.start()
    system = Beckon(workdir, redis, args.store, pg if args.store == "postgresql" else None)
    await system.start()
    gen = await LoadGen.start()
    try:
        n = args.conversations
        if args.shop:  # scenario (f): page loads, events, invitations and chats
            chats = max(2, int(args.shop / 50 * 1.5))
            await system.prepare_chat(chats)
            await system.create_rules(args.rules)
            cfg = system.chat_config(chats)
            # Only the window after the ramp (one page's dwell) is recorded.
            run = gen.call(
                "shop",
                timeout=args.seconds + 600,
                visitors=args.shop,
                pages=4,
                dwell_s=SHOP_DWELL_S,
                ramp_s=SHOP_DWELL_S,
                measure_s=args.seconds,
                message_every_s=3.0,
                chat_share=0.02,
                events_per_page=3,
                drain=3.0,
                **cfg,
            )
            run = asyncio.ensure_future(run)
            await asyncio.sleep(SHOP_DWELL_S)
        elif args.behaviour:  # scenario (e): behaviour frames through live sockets
            await system.create_rules(args.rules)
            cfg = system.chat_config(0)
            cfg.pop("dialect", None)
            # The sockets open (and say hello) before the profile: only events are measured.
            await gen.call("idle", timeout=900, dialect=system.dialect, n=args.behaviour, **cfg)
            await node_idle(system, limit_s=120)
            run = gen.call(
                "behaviour",
                timeout=args.seconds + 600,
                visitors=args.behaviour,
                duration=args.seconds,
                reuse_idle=True,
                **cfg,
            )
        elif args.connects:
            cfg = system.chat_config(0)
            cfg.pop("dialect", None)
            if args.returning:
                await gen.call(
                    "name_visitors",
                    timeout=600,
                    dialect=system.dialect,
                    n=args.connects,
                    inflight=100,
                    **cfg,
                )
                await node_idle(system, limit_s=60)
            run = gen.call(
                "connects",
                timeout=600,
                dialect=system.dialect,
                n=args.connects,
                inflight=100,
                returning=args.returning,
                **cfg,
            )
        else:
            await system.prepare_chat(n)
            await gen.call("setup_chat", timeout=600, conversations=n, **system.chat_config(n))
            await node_idle(system, limit_s=120)
            await gen.call("rate", rate=args.rate, duration=2.0, drain=5.0)  # warm up
            if args.idle:  # scenario (i): idle visitors up to --idle sockets, no traffic
                cfg = system.chat_config(0)
                cfg.pop("dialect", None)
                await gen.call("idle", timeout=900, dialect=system.dialect, n=args.idle - n, **cfg)
                await node_idle(system, limit_s=120)
                run = gen.call("wait", timeout=args.seconds + 60, seconds=args.seconds)
            else:
                run = gen.call("rate", rate=args.rate, duration=args.seconds, drain=10.0)
        outputs = [workdir / f"node{i}.txt" for i in range(2)]
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        spies = [
            await asyncio.create_subprocess_exec(
                *[
                    py_spy,
                    "record",
                    "--pid",
                    str(proc.pid),
                    "--duration",
                    str(int(args.seconds)),
                    "--format",
                    "raw",
                    *([] if args.blocking else ["--nonblocking"]),
                    "--rate",
                    "200",
                    "-o",
                    str(out),
                ],
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            for proc, out in zip(system.procs, outputs, strict=True)
        ]
        commands_before = await _redis_commands(redis)
        meter = CoreMeter()
        meter.start()
        began = time.monotonic()
        result: dict[str, Any] = await run
        wall = time.monotonic() - began
        split = meter.by_kind()
        commands = _delta(commands_before, await _redis_commands(redis))
        for spy in spies:
            async with asyncio.timeout(60):
                await spy.wait()
        if args.shop:
            sent = max(result["connects"], 1)
            print(
                f"{args.shop} visitors: {result['connects']} page loads "
                f"({result['connects_per_s']:.0f}/s, p99 {result['connect_p99_ms']} ms), "
                f"{result['events']} events, {result['invitations']} invitations, "
                f"{result['chats']} chats, messages {result['delivered']}/{result['messages']} "
                f"p99 {result['message_p99_ms']} ms, errors {result['errors']}"
            )
        elif args.behaviour:
            sent = max(result["events"], 1)
            print(
                f"{result['visitors']} visitors: {result['per_s']:.0f} behaviour events/s, "
                f"{result['invitations']} invitations, errors {result['errors']}"
            )
        elif args.idle:
            sent = max(1, round(wall))
            print(f"{args.idle} sockets ({n} conversations) idle for {wall:.0f}s")
        elif args.connects:
            sent = max(result["open"], 1)
            print(f"{result['open']} connects, {result['per_s']:.0f}/s, errors {result['errors']}")
        else:
            sent = max(result["sent"], 1)
            print(
                f"rate {args.rate}/s for {args.seconds}s: delivered {result['delivered']}/"
                f"{result['sent']}, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
            )
        unit = (
            "page load"
            if args.shop
            else "event"
            if args.behaviour
            else "second"
            if args.idle
            else "connect"
            if args.connects
            else "message"
        )
        for kind, share in sorted(split.items()):
            print(f"  cpu {kind:10s} {share * wall / sent * 1e3:7.3f} ms per {unit}")
        print(f"  redis commands per {unit}: {sum(commands.values()) / sent:.1f}")
        for name, count in commands.most_common(30):
            print(f"    {count / sent:7.2f}  {name}")
        for i, out in enumerate(outputs):
            if not out.exists():
                print(f"node {i + 1}: no profile (py-spy missing or not permitted)")
                continue
            stacks = out.read_text()
            own, inclusive = top(stacks)
            total = sum(int(line.rpartition(" ")[2]) for line in stacks.splitlines())
            print(f"\nnode {i + 1}: {total} samples — self")
            for name, count in own:
                print(f"  {count / total:6.1%}  {name}")
            print(f"node {i + 1}: inclusive")
            for name, count in inclusive:
                print(f"  {count / total:6.1%}  {name}")
            on_loop, tasks = by_task(stacks)
            print(f"node {i + 1}: by task ({on_loop} samples on the event loop's thread)")
            for name, count in tasks:
                print(f"  {count / max(1, on_loop):6.1%}  {name}")
        print(f"\nraw stacks: {workdir}")
    finally:
        await gen.quit()
        await system.stop()
        pg.stop()
        redis.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--store", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument(
        "--connects", type=int, default=0, help="profile N visitor connects instead of chat"
    )
    parser.add_argument(
        "--behaviour",
        type=int,
        default=0,
        metavar="VISITORS",
        help="profile behaviour frames (scenario e) from VISITORS live sockets",
    )
    parser.add_argument(
        "--blocking",
        action="store_true",
        help="py-spy pauses the node for each sample: slower, but a coroutine's stack is "
        "never read half-changed (non-blocking samples put some idle time under the last "
        "write to Redis)",
    )
    parser.add_argument(
        "--shop",
        type=int,
        default=0,
        metavar="VISITORS",
        help="profile a shop-day step (scenario f) with VISITORS shopping at once (per page load)",
    )
    parser.add_argument(
        "--rules", type=int, default=200, help="with --behaviour or --shop: rules made"
    )
    parser.add_argument(
        "--idle",
        type=int,
        default=0,
        metavar="SOCKETS",
        help="profile the idle burn: --conversations open plus idle visitors up to SOCKETS, "
        "no traffic (CPU per second)",
    )
    parser.add_argument(
        "--returning",
        action="store_true",
        help="with --connects: visitors the server knows (hello with a token; a first, "
        "unprofiled pass names them)",
    )
    asyncio.run(main(parser.parse_args()))
