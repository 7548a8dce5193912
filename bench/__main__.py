"""`python -m bench run [--quick] [--scenarios abcde] [--systems ...] [--soak N]`,
`python -m bench console [--sizes 1000,3000,10000] [--quick]` (the console's UI bench).

Starts a private Redis and PostgreSQL pinned to the server core, runs every scenario
for Beckon (PostgreSQL and SQLite) and each peer with the same load generator, prints
the table with ratios and the target check, and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bench.run import ALL_SYSTEMS, run
from bench.soak import soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the benchmark suite")
    r.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test), seconds")
    r.add_argument(
        "--scenarios",
        default="abcdefi",
        help="subset of a,b,c,d,e,f (shop day),i (idle burn) (default all)",
    )
    r.add_argument(
        "--systems",
        nargs="+",
        default=list(ALL_SYSTEMS),
        choices=list(ALL_SYSTEMS),
        help="systems to run (default all)",
    )
    r.add_argument(
        "--soak",
        type=int,
        metavar="SECONDS",
        help="instead of the suite: 5,000 visitors chatting and navigating on "
        "Beckon (PostgreSQL) for SECONDS, printing RSS/FDs/tasks every minute",
    )
    r.add_argument("--soak-visitors", type=int, default=5000, help=argparse.SUPPRESS)
    r.add_argument("--soak-every", type=float, default=60.0, help=argparse.SUPPRESS)
    r.add_argument(
        "--output", default=None, help="results JSON (default bench/results/latest.json)"
    )
    r.add_argument(
        "--wait-quiet",
        type=float,
        default=None,
        metavar="SECONDS",
        help="before each system, wait up to SECONDS for other work to calm down "
        "(default 180; 0 on a machine that will not be quiet)",
    )
    r.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority for the bench and everything it starts (e.g. -10 on a "
        "machine shared with other work; negative needs root)",
    )
    c = sub.add_parser("console", help="the agent console at 1,000 / 3,000 / 10,000 visitors")
    c.add_argument("--sizes", default="1000,3000,10000", help="visitor counts, comma separated")
    c.add_argument("--seconds", type=float, default=30.0, help="measurement window per size")
    c.add_argument("--quick", action="store_true", help="200 visitors, a 5 s window")
    c.add_argument("--output", default=None, help="JSON (default bench/results/console_ui.json)")
    args = parser.parse_args(argv)
    if args.command == "console":
        from bench.console_ui import console_bench

        sizes = [200] if args.quick else [int(x) for x in args.sizes.split(",") if x.strip()]
        seconds = 5.0 if args.quick else args.seconds
        return asyncio.run(console_bench(sizes, seconds, args.output))
    scenarios = set(args.scenarios.replace(",", "").lower())
    if not scenarios <= set("abcdefi"):
        parser.error("--scenarios takes letters among a, b, c, d, e, f, i")
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # children inherit it
    if args.soak:
        return asyncio.run(soak(args.soak, args.soak_visitors, args.soak_every))
    return asyncio.run(run(args.quick, scenarios, args.systems, args.output, args.wait_quiet))


if __name__ == "__main__":
    sys.exit(main())
