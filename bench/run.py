"""The suite: infrastructure once, then each system in turn, then the report."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import report
from bench.infra import LOAD_CORE, REPO, Postgres, Redis, pin_self, pinning, raise_nofile
from bench.loadclient import LoadGen
from bench.scenarios import (
    Plan,
    behaviour_scenario,
    chat_scenarios,
    connect_scenario,
    engine_figure,
    idle_scenario,
    log,
    make_plan,
    wait_quiet,
)
from bench.shop_scenarios import idle_burn_scenario, shop_scenario
from bench.systems import Beckon, NodeSocketIO, PythonSocketIO, SkipSystem, StarletteRelay, System

ALL_SYSTEMS = ("beckon_pg", "beckon_sqlite", "starlette_relay", "python_socketio", "node_socketio")
RESULTS = REPO / "bench" / "results"


def make_system(name: str, workdir: Path, redis: Redis, pg: Postgres) -> System:
    if name == "beckon_pg":
        return Beckon(workdir, redis, "postgresql", pg)
    if name == "beckon_sqlite":
        return Beckon(workdir, redis, "sqlite", None)
    return {
        "starlette_relay": StarletteRelay,
        "python_socketio": PythonSocketIO,
        "node_socketio": NodeSocketIO,
    }[name](workdir, redis)


async def run_system(system: System, plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {"foreign_cpu_at_start": await wait_quiet(plan.wait_quiet_s)}
    gen = await LoadGen.start()
    try:
        # Memory first, on freshly started nodes (a heap grown by the chat phases would
        # hide idle sockets in freed memory); memory and behaviour depend on the socket
        # layer, not the store: one Beckon run. (e) uses 5,000 of (c)'s visitors.
        if "c" in plan.scenarios and system.name != "beckon_sqlite":
            await idle_scenario(system, gen, plan, out)
        elif "e" in plan.scenarios and isinstance(system, Beckon) and system.store == "postgresql":
            await behaviour_scenario(system, gen, plan, out)
        if "c" in out and plan.scenarios & {"a", "b", "d", "f", "i"}:
            # Fresh nodes for what follows: closing 20,000 sockets keeps some servers
            # (python-socketio) busy for minutes, which is not what (a), (b), (d) measure.
            await system.stop()
            await system.start()
        if "i" in plan.scenarios:
            await idle_burn_scenario(system, gen, plan, out)
        if plan.scenarios & {"a", "b"}:
            await chat_scenarios(system, gen, plan, out)
        if "d" in plan.scenarios:
            await connect_scenario(system, gen, plan, out)
        if "f" in plan.scenarios:
            # Last: the heaviest phase, and it leaves thousands of visitors and closed
            # chats behind.
            await shop_scenario(system, gen, plan, out)
    finally:
        await gen.quit()
    return out


async def run(
    quick: bool,
    scenarios: set[str],
    systems: list[str],
    output: str | None,
    wait_quiet_s: float | None = None,
) -> int:
    soft_hard = raise_nofile()
    pin_self(LOAD_CORE)
    plan = make_plan(quick, scenarios, soft_hard[1])
    if wait_quiet_s is not None:
        plan.wait_quiet_s = wait_quiet_s
    workdir = Path(tempfile.mkdtemp(prefix="beckon-bench-"))
    print(
        f"beckon bench ({'quick' if quick else 'full'}): scenarios {''.join(sorted(scenarios))}, "
        f"systems {', '.join(systems)}",
        flush=True,
    )
    print(
        f"  cores: {os.cpu_count()}, pinning {'server→core 0, load→core 1' if pinning() else 'OFF'}"
        f"; RLIMIT_NOFILE {soft_hard}; logs in {workdir}",
        flush=True,
    )
    if not quick and max(plan.idle) < 20000:
        print(
            f"  note: (c) capped at {max(plan.idle)} sockets: the hard RLIMIT_NOFILE is "
            f"{soft_hard[1]} and cannot be raised without CAP_SYS_RESOURCE",
            flush=True,
        )
    began = time.monotonic()
    redis, pg = Redis(workdir), Postgres(workdir)
    results: dict[str, dict[str, Any]] = {}
    try:
        await redis.start()
        if "beckon_pg" in systems:
            await pg.start()
            where = (
                "private cluster pinned to the server core"
                if pg.private
                else ("shared :5432, NOT pinned")
            )
            print(
                f"  PostgreSQL: {where} (fsync on, synchronous_commit on)",
                flush=True,
            )
        for name in systems:
            print(f"\n== {name}", flush=True)
            system = make_system(name, workdir, redis, pg)
            entry: dict[str, Any] = {
                "store": system.store,
                "stores_messages": system.stores_messages,
                "compression": system.compression,
            }
            t0 = time.monotonic()
            try:
                await system.start()
                entry["results"] = await run_system(system, plan)
            except SkipSystem as exc:
                entry["skipped"] = str(exc)
                log(f"SKIPPED: {exc}")
            except Exception as exc:
                entry["failed"] = f"{type(exc).__name__}: {exc}"
                entry.setdefault("results", {})
                log(f"FAILED: {exc}")
                traceback.print_exc()
                for p in system.procs:
                    log(f"{p.name} log tail: {p.tail(800)}")
            finally:
                await system.stop()
            entry["seconds"] = round(time.monotonic() - t0, 1)
            results[name] = entry
        if "e" in scenarios and "beckon_pg" in results and "results" in results["beckon_pg"]:
            print("\n== invitation engine (bench/engine.py, pure, server core)", flush=True)
            engine = await engine_figure(quick)
            for line in engine["output"]:
                log(line)
            results["beckon_pg"]["results"]["engine"] = engine
    finally:
        redis.stop()
        try:
            await pg.drop_databases()
        finally:
            pg.stop()
    plan_d = asdict(plan)
    plan_d["scenarios"] = sorted(plan.scenarios)
    plan_d["nofile"] = list(soft_hard)
    shown = {n: r for n, r in results.items() if "results" in r}
    text, ratios = report.table(shown, plan_d) if shown else ("(no results)", {})
    goals = report.targets(shown, plan_d)
    print("\n" + text, flush=True)
    print("\nTargets (same run):\n" + report.targets_text(goals), flush=True)
    for name, r in results.items():
        if "skipped" in r or "failed" in r:
            print(f"  {name}: {r.get('skipped') or r.get('failed')}", flush=True)
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "pinning": pinning(),
        },
        "plan": plan_d,
        "systems": results,
        "ratios": ratios,
        "targets": goals,
        "table": text,
        "seconds": round(time.monotonic() - began, 1),
    }
    path = Path(output) if output else RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, default=str))
    print(f"\nresults written to {path} ({doc['seconds']}s)", flush=True)
    failed = [n for n, r in results.items() if "failed" in r]
    return 1 if failed else 0


__all__ = ["ALL_SYSTEMS", "asyncio", "run"]
