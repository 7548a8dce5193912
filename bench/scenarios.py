"""Scenarios (a)–(e) for one system, with bounded counts and times.

(a) latency p50/p99/max at fixed open-loop rates; (b) highest sustained msg/s with
p99 ≤ 50 ms, stepped, each failing step retried once; (c) RSS per idle visitor socket;
(d) connects/s with a fixed number of handshakes in flight; (e) behaviour events/s
(Beckon only). Latency is visitor send → agent receive on the other node, measured
from the scheduled send time (open loop, so a slow server cannot hide its queueing).
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.infra import REPO, SERVER_CORE, CoreMeter, pin
from bench.loadclient import LoadGen
from bench.systems import Beckon, System

P99_LIMIT_MS = 50.0
FOREIGN_WARN = 0.25
GEN_SATURATED = 0.90  # generator busy share above which a figure is not trusted


@dataclass
class Plan:
    quick: bool
    conversations: int
    rates: list[int]
    rate_s: float
    ladder: list[int]
    step_s: float
    ladder_budget_s: float
    idle: list[int]
    connects: int
    inflight: int
    visitors_e: int
    rules_e: int
    behaviour_s: float
    drain_s: float
    settle_s: float
    scenarios: set[str] = field(default_factory=lambda: set("abcde"))
    wait_quiet_s: float = 0.0
    # A rate phase starts once no frame has arrived for this long (the last backlog).
    quiesce_s: float = 1.0
    # (f) a shop day: visitors held at once, stepped (bench/shop_scenarios.py).
    shop_steps: list[int] = field(default_factory=lambda: [250, 500, 1000, 2000, 3000])
    shop_pages: int = 4
    shop_dwell_s: float = 10.0
    shop_measure_s: float = 20.0
    shop_message_every_s: float = 3.0
    shop_budget_s: float = 420.0
    # (i) idle burn: CPU with conversations and visitors open and no traffic.
    burn_conversations: int = 200
    burn_visitors: int = 1000
    burn_s: float = 20.0
    burn_rates: list[int] = field(default_factory=lambda: [100, 2000])
    burn_rate_s: float = 10.0


def make_plan(quick: bool, scenarios: set[str], nofile_hard: int) -> Plan:
    # The node process holds every idle socket: leave room for its own files.
    cap = nofile_hard - 200
    if quick:
        return Plan(
            quick=True,
            conversations=5,
            rates=[20, 50],
            rate_s=1.0,
            ladder=[20, 40, 60],
            step_s=0.8,
            ladder_budget_s=20,
            idle=[10, 20],
            connects=20,
            inflight=10,
            visitors_e=10,
            rules_e=20,
            behaviour_s=1.5,
            drain_s=2.0,
            settle_s=0.5,
            scenarios=scenarios,
            wait_quiet_s=0.0,
            quiesce_s=0.2,
            shop_steps=[10, 20],
            shop_pages=3,
            shop_dwell_s=1.0,
            shop_measure_s=3.0,  # the checkout, a visit's third page, falls inside it
            shop_message_every_s=0.3,
            shop_budget_s=60.0,
            burn_conversations=5,
            burn_visitors=20,
            burn_s=1.0,
            burn_rates=[10, 40],
            burn_rate_s=1.0,
        )
    return Plan(
        quick=False,
        conversations=1000,
        rates=[500, 2000],
        rate_s=5.0,
        ladder=[100, 250, 500, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 10000, 12000],
        step_s=3.0,
        ladder_budget_s=180,
        idle=[5000, min(20000, cap)],
        connects=1000,
        inflight=100,
        visitors_e=5000,
        rules_e=200,
        behaviour_s=20.0,
        drain_s=3.0,
        settle_s=3.0,
        scenarios=scenarios,
        wait_quiet_s=180.0,
        shop_steps=[s for s in (100, 250, 500, 1000, 2000, 3000, 4000, 6000, 8000) if s < cap // 2],
    )


def step_ok(r: dict[str, Any], rate: int) -> bool:
    p99 = r.get("p99_ms")
    return (
        p99 is not None
        and p99 <= P99_LIMIT_MS
        and r["delivered"] == r["sent"]
        and r["acked"] == r["sent"]
        and r["achieved"] >= 0.95 * rate
        and not r["errors"]
    )


async def measured(
    gen: LoadGen, cmd: str, timeout: float = 600, quiesce_s: float = 1.0, **args: Any
) -> dict[str, Any]:
    if cmd == "rate":
        # Each rate phase starts on an idle system: the backlog of a phase the system
        # could not keep up with must not be charged to the next one.
        q = await gen.call("quiesce", quiet=quiesce_s, limit=90)
        if not q["quiet"]:
            log(f"WARNING: still receiving the previous phase's backlog after {q['waited_s']:.0f}s")
    meter = CoreMeter()
    meter.start()
    began = time.monotonic()
    r = await gen.call(cmd, timeout=timeout, **args)
    r["wall_s"] = round(time.monotonic() - began, 3)
    r["cpu_by_kind"] = kinds = meter.by_kind()
    busy = meter.stop()
    r["server_core"] = busy[SERVER_CORE] if len(busy) > SERVER_CORE else None
    # CPU on the two cores not used by anything this bench started (another test run,
    # a build...): the figures of this phase are then not trustworthy.
    r["foreign_cpu"] = round(max(0.0, sum(busy) - sum(kinds.values())), 3)
    if r["foreign_cpu"] > FOREIGN_WARN:
        log(
            f"WARNING: {r['foreign_cpu']:.0%} of a core used by processes outside the bench "
            f"during this {cmd} phase: figures disturbed"
        )
    return r


async def wait_quiet(max_wait_s: float, limit: float = FOREIGN_WARN) -> float:
    """Wait (≤ max_wait_s) until processes outside the bench use < `limit` of a core.
    Returns the foreign load last seen."""
    deadline = time.monotonic() + max_wait_s
    told = False
    while True:
        meter = CoreMeter()
        meter.start()
        await asyncio.sleep(2.0)
        kinds = meter.by_kind()
        foreign = max(0.0, sum(meter.stop()) - sum(kinds.values()))
        if foreign < limit or time.monotonic() > deadline:
            if told or foreign >= limit:
                log(f"foreign CPU load now {foreign:.0%} of a core")
            return foreign
        if not told:
            log(
                f"machine busy: {foreign:.0%} of a core used outside the bench; waiting "
                f"up to {max_wait_s:.0f}s for it to calm down"
            )
            told = True


def log(msg: str) -> None:
    print(f"  {msg}", flush=True)


async def chat_scenarios(system: System, gen: LoadGen, plan: Plan, out: dict[str, Any]) -> None:
    n = plan.conversations
    await system.prepare_chat(n)
    setup = await gen.call("setup_chat", timeout=600, conversations=n, **system.chat_config(n))
    out["setup"] = setup
    log(
        f"{n} conversations ready in {setup['setup_s']:.1f}s "
        f"(deflate negotiated: {setup['deflate']}, unassigned: {setup['unassigned']})"
    )
    # Steady state only: the work a server queues behind the set-up (Beckon routes each
    # new chat after answering chat_start) must finish before anything is measured.
    settled = time.monotonic()
    await node_idle(system, limit_s=300, every_s=0.25 if plan.quick else 1.0)
    setup["settle_s"] = round(time.monotonic() - settled, 1)
    log(f"node 1 idle {setup['settle_s']:.0f}s after the set-up")
    # Warm up gently (the ladder's first step): caches, pools, JIT-free but lazy imports.
    await gen.call("rate", rate=plan.ladder[0], duration=min(2.0, plan.rate_s), drain=plan.drain_s)
    # (a)'s lowest rate first, then the ladder, then (a)'s higher rates: a rate a system
    # cannot take leaves a backlog, so the heaviest phase goes last.
    first, rest = plan.rates[:1], plan.rates[1:]
    if "a" in plan.scenarios:
        out["a"] = {}
        await _latency(gen, plan, first, out)
    if "b" in plan.scenarios:
        steps, best = [], None
        deadline = time.monotonic() + plan.ladder_budget_s
        for rate in plan.ladder:
            if rate / n > 18:
                log(f"(b) ladder stops at {rate}: over 18 msg/s per visitor socket")
                break
            passed = False
            for attempt in (1, 2):
                r = await measured(
                    gen,
                    "rate",
                    rate=rate,
                    duration=plan.step_s,
                    drain=plan.drain_s,
                    quiesce_s=plan.quiesce_s,
                )
                r["attempt"] = attempt
                r["ok"] = step_ok(r, rate)
                r["gen_saturated"] = r["gen_cpu"] > GEN_SATURATED
                steps.append(r)
                if r["gen_saturated"]:
                    log(f"(b) WARNING: load generator at {r['gen_cpu']:.0%} of its core")
                log(
                    f"(b) step {rate} #{attempt}: {'pass' if r['ok'] else 'FAIL'} p99 "
                    f"{_ms(r['p99_ms'])} ms, achieved {r['achieved']:.0f}, delivered "
                    f"{r['delivered']}/{r['sent']}, gen cpu {r['gen_cpu']:.0%}, "
                    f"server core {r['server_core']:.0%}"
                )
                if r["ok"]:
                    passed = True
                    break
                await asyncio.sleep(1.0)  # let a backlog drain before the retry
            if not passed:
                break
            best = r
            if time.monotonic() > deadline:
                log("(b) ladder time budget spent")
                break
        top = plan.ladder[-1]
        out["b"] = {
            "max_rate": best["rate"] if best else 0,
            "at_ladder_top": bool(best and best["rate"] == top),
            "best": best,
            "steps": steps,
            "generator_bound": bool(steps and not steps[-1]["ok"] and steps[-1]["gen_saturated"]),
        }
    if "a" in plan.scenarios:
        await _latency(gen, plan, rest, out)
    await gen.call("close_chat")


async def _latency(gen: LoadGen, plan: Plan, rates: list[int], out: dict[str, Any]) -> None:
    for rate in rates:
        r = await measured(
            gen,
            "rate",
            rate=rate,
            duration=plan.rate_s,
            drain=plan.drain_s,
            quiesce_s=plan.quiesce_s,
        )
        out["a"][str(rate)] = r
        log(
            f"(a) {rate} msg/s: p50 {_ms(r['p50_ms'])} p99 {_ms(r['p99_ms'])} "
            f"max {_ms(r['max_ms'])} ms, delivered {r['delivered']}/{r['sent']}, "
            f"gen cpu {r['gen_cpu']:.0%}, server core {r['server_core']:.0%}"
        )


async def idle_scenario(system: System, gen: LoadGen, plan: Plan, out: dict[str, Any]) -> None:
    """Idle visitors on node 1, grown in steps (5,000 then 20,000): RSS delta from the
    baseline before the first socket, divided by the sockets open. On Beckon (PostgreSQL)
    scenario (e) then runs on 5,000 of these visitors while the rest stay idle."""
    out["c"] = {}
    node = system.node1()
    await asyncio.sleep(plan.settle_s)
    baseline = node.rss()
    opened = 0
    for n in plan.idle:
        r = await gen.call(
            "idle",
            timeout=1800,
            dialect=system.dialect,
            n=n - opened,
            offset=50_000 + opened,
            **_idle_cfg(system),
        )
        opened = n
        await asyncio.sleep(plan.settle_s)  # settle: pending handshakes, GC
        after = node.rss()
        check = await gen.call("check_idle")
        r.update(
            n=n, rss_before=baseline, rss_after=after, fds=node.fds(), still_open=check["open"]
        )
        r["bytes_per_socket"] = (after - baseline) / max(1, check["open"])
        if isinstance(system, Beckon):
            r["server_tasks"] = await system.tasks(0)
        out["c"][str(n)] = r
        log(
            f"(c) {n} idle sockets: {check['open']} open after settling, "
            f"{r['bytes_per_socket'] / 1024:.1f} KiB/socket "
            f"(RSS {baseline >> 20}→{after >> 20} MiB)"
            f", errors {r['errors'] or 'none'}, +{r['open']} in {r['connect_s']:.1f}s, "
            f"deflate {r['deflate']}, gen cpu {r['gen_cpu']:.0%}"
        )
    if "e" in plan.scenarios and isinstance(system, Beckon) and system.store == "postgresql":
        await behaviour_scenario(system, gen, plan, out, reuse=True)
    await gen.call("close_idle", timeout=600)
    await node_idle(system, every_s=0.25 if plan.quick else 1.0)


async def node_idle(system: System, limit_s: float = 120.0, every_s: float = 1.0) -> None:
    """Wait (bounded) until node 1 stops working on what the last phase left (closing
    20,000 sockets takes some servers minutes), so the next phase starts clean."""
    deadline = time.monotonic() + limit_s
    proc = psutil.Process(system.node1().pid)
    proc.cpu_percent(None)
    while time.monotonic() < deadline:
        await asyncio.sleep(every_s)
        if proc.cpu_percent(None) < 10:
            return
    log(f"WARNING: node 1 still busy {limit_s:.0f}s after the sockets closed")


def _idle_cfg(system: System) -> dict[str, Any]:
    cfg = system.chat_config(0)
    cfg.pop("dialect", None)
    return cfg


async def connect_scenario(system: System, gen: LoadGen, plan: Plan, out: dict[str, Any]) -> None:
    await asyncio.sleep(plan.settle_s)
    r = await measured(
        gen,
        "connects",
        timeout=600,
        dialect=system.dialect,
        n=plan.connects,
        inflight=plan.inflight,
        **_idle_cfg(system),
    )
    out["d"] = r
    log(
        f"(d) {r['open']}/{plan.connects} connects, {plan.inflight} in flight: "
        f"{r['per_s']:.0f}/s, errors {r['errors'] or 'none'}, gen cpu {r['gen_cpu']:.0%}, "
        f"server core {r['server_core']:.0%} {r['cpu_by_kind']}"
    )
    if isinstance(system, Beckon):
        # Returning visitors (a token from an earlier welcome): every page after the
        # first on a multi-page shop. The first, unmeasured pass names them.
        await asyncio.sleep(plan.settle_s)
        r = await measured(
            gen,
            "connects",
            timeout=900,
            dialect=system.dialect,
            n=plan.connects,
            inflight=plan.inflight,
            returning=True,
            offset=140_000,
            **_idle_cfg(system),
        )
        out["d_returning"] = r
        log(
            f"(d) returning visitors: {r['open']}/{plan.connects}: {r['per_s']:.0f}/s, "
            f"errors {r['errors'] or 'none'}, server core {r['server_core']:.0%} "
            f"{r['cpu_by_kind']}"
        )


async def behaviour_scenario(
    system: Beckon, gen: LoadGen, plan: Plan, out: dict[str, Any], reuse: bool = False
) -> None:
    routes = await system.routes()
    rule_routes = [p for p in routes if "rule" in p]
    engine_live = bool(rule_routes)
    note = (
        f"invitation engine live ({len(rule_routes)} rules API routes)"
        if engine_live
        else "the invitation engine is NOT in the server path yet (no rules API): this "
        "measures behaviour frames through the sockets into the visit log only"
    )
    rules = await system.create_rules(plan.rules_e) if engine_live else 0
    cfg = _idle_cfg(system)
    r = await measured(
        gen,
        "behaviour",
        timeout=900,
        visitors=plan.visitors_e,
        duration=plan.behaviour_s,
        reuse_idle=reuse,
        **cfg,
    )
    r["engine_live"] = engine_live
    r["note"] = note
    r["rules"] = rules
    out["e"] = r
    log(
        f"(e) {r['visitors']} visitors{' (of the idle ones)' if reuse else ''}: "
        f"{r['per_s']:.0f} behaviour events/s "
        f"with {rules} rules ({r['invitations']} invitations), server core "
        f"{r['server_core']:.0%} — {note}"
    )


async def engine_figure(quick: bool) -> dict[str, Any]:
    """bench/engine.py (the pure engine on the server core): events/s."""
    argv = pin(
        [sys.executable, str(REPO / "bench" / "engine.py"), *(["--quick"] if quick else [])],
        SERVER_CORE,
    )
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    text = out.decode()
    rates = [float(x.replace(",", "")) for x in re.findall(r"= ([\d,]+) events/s", text)]
    return {
        "output": text.strip().splitlines(),
        "indexed_events_per_s": rates[0] if rates else None,
        "returncode": proc.returncode,
    }


def _ms(v: float | None) -> str:
    return "lost" if v is None or v == float("inf") else f"{v:.1f}"
