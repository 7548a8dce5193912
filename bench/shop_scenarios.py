"""Scenarios (f) a shop day and (i) idle burn, for one system.

(f): a bounded step search over how many visitors shop at once (bench/shopgen.py has
the visit); a step passes when connect p99 ≤ 100 ms, message p99 ≤ 50 ms, no connect
failed, every message reached the agent and no `error` frame came back. A failing step
is retried once; the search stops at the second failure, at its top, or when its time
budget is spent. The figure is the largest passing step: visitors held per server core
(every server process, Redis and the database are pinned to one core).

(i): N open conversations (visitor on node 1, agent on node 2) plus idle visitors up
to M sockets, then no traffic for a while: the CPU the server processes and the
database use (share of one core). Then the same sockets at two open-loop rates: server
+ database CPU per message, so a cost that does not follow the messages shows as a
higher figure at the low rate.
"""

from __future__ import annotations

import time
from typing import Any

from bench.loadclient import LoadGen
from bench.scenarios import GEN_SATURATED, Plan, _idle_cfg, log, measured, node_idle
from bench.systems import Beckon, System

CONNECT_P99_LIMIT_MS = 100.0
MESSAGE_P99_LIMIT_MS = 50.0
SERVER_KINDS = ("server", "postgres", "redis")


def shop_ok(r: dict[str, Any]) -> bool:
    cp, mp = r.get("connect_p99_ms"), r.get("message_p99_ms")
    return (
        cp is not None
        and cp <= CONNECT_P99_LIMIT_MS
        and (r["messages"] == 0 or (mp is not None and mp <= MESSAGE_P99_LIMIT_MS))
        and r["connects_failed"] == 0
        and r["delivered"] == r["messages"]
        and not r["errors"]
    )


def _server_cpu(r: dict[str, Any]) -> float:
    """Share of one core used by the servers, Redis and the database in a phase."""
    return sum(v for k, v in r["cpu_by_kind"].items() if k in SERVER_KINDS)


async def shop_scenario(system: System, gen: LoadGen, plan: Plan, out: dict[str, Any]) -> None:
    top = max(plan.shop_steps)
    chats = max(2, int(top / 50 * 1.5))  # 2 % of visits, with room for slow closes
    cfg = system.chat_config(chats)
    if isinstance(system, Beckon):
        await system.prepare_chat(chats)
        cfg = system.chat_config(chats)
        if not system.rules_made and any("rule" in p for p in await system.routes()):
            system.rules_made = await system.create_rules(plan.rules_e)
    steps, best = [], None
    deadline = time.monotonic() + plan.shop_budget_s
    for n in plan.shop_steps:
        passed = False
        for attempt in (1, 2):
            await node_idle(system, limit_s=60, every_s=0.25 if plan.quick else 1.0)
            r = await measured(
                gen,
                "shop",
                timeout=plan.shop_dwell_s * plan.shop_pages + plan.shop_measure_s + 300,
                visitors=n,
                pages=plan.shop_pages,
                dwell_s=plan.shop_dwell_s,
                ramp_s=plan.shop_dwell_s,
                measure_s=plan.shop_measure_s,
                message_every_s=plan.shop_message_every_s,
                chat_share=0.02,
                events_per_page=3,
                drain=plan.drain_s,
                **cfg,
            )
            r["attempt"] = attempt
            r["ok"] = shop_ok(r)
            r["gen_saturated"] = r["gen_cpu"] > GEN_SATURATED
            steps.append(r)
            log(
                f"(f) {n} visitors #{attempt}: {'pass' if r['ok'] else 'FAIL'} connect p99 "
                f"{_ms(r['connect_p99_ms'])} ms ({r['connects_per_s']:.0f}/s, "
                f"{r['connects_failed']} failed), message p99 {_ms(r['message_p99_ms'])} ms "
                f"({r['delivered']}/{r['messages']}), {r['events']} events, "
                f"{r['invitations']} invitations, {r['chats']} chats "
                f"({r['chats_unassigned']} not taken), errors {r['errors'] or 'none'}, "
                f"gen cpu {r['gen_cpu']:.0%}, server core {r['server_core']:.0%}"
            )
            if r["gen_saturated"]:
                log(f"(f) WARNING: load generator at {r['gen_cpu']:.0%} of its core")
            if r["ok"]:
                passed = True
                break
        if not passed:
            break
        best = r
        if time.monotonic() > deadline:
            log("(f) step search time budget spent")
            break
    await gen.call("shop_end")
    out["f"] = {
        "visitors_held": best["visitors"] if best else 0,
        "at_top": bool(best and best["visitors"] == top),
        "best": best,
        "steps": steps,
        "pages": plan.shop_pages,
        "dwell_s": plan.shop_dwell_s,
    }


async def idle_burn_scenario(system: System, gen: LoadGen, plan: Plan, out: dict[str, Any]) -> None:
    n, m = plan.burn_conversations, plan.burn_visitors
    await system.prepare_chat(n)
    await gen.call("setup_chat", timeout=600, conversations=n, **system.chat_config(n))
    extra = await gen.call(
        "idle", timeout=900, dialect=system.dialect, n=m - n, offset=500_000, **_idle_cfg(system)
    )
    await node_idle(system, limit_s=300, every_s=0.25 if plan.quick else 1.0)
    r = await measured(gen, "wait", timeout=plan.burn_s + 60, seconds=plan.burn_s)
    burn: dict[str, Any] = {
        "conversations": n,
        "visitors": n + extra["open"],
        "idle": r,
        "idle_cpu": round(_server_cpu(r), 4),
        "rates": {},
    }
    log(
        f"(i) idle burn, {n} conversations + {m - n} idle visitors, no traffic for "
        f"{plan.burn_s:.0f}s: servers+database {burn['idle_cpu']:.1%} of a core "
        f"{r['cpu_by_kind']}"
    )
    # Warm the path (first messages fill caches) before the low rate is measured.
    await gen.call("rate", rate=plan.burn_rates[0], duration=1.0, drain=plan.drain_s)
    for rate in plan.burn_rates:
        r = await measured(
            gen,
            "rate",
            rate=rate,
            duration=plan.burn_rate_s,
            drain=plan.drain_s,
            quiesce_s=plan.quiesce_s,
        )
        r["cpu_ms_per_message"] = _server_cpu(r) * r["wall_s"] / max(1, r["sent"]) * 1000
        burn["rates"][str(rate)] = r
        log(
            f"(i) {rate} msg/s: servers+database {r['cpu_ms_per_message']:.3f} ms CPU per "
            f"message, p99 {_ms(r['p99_ms'])} ms, delivered {r['delivered']}/{r['sent']}"
        )
    out["i"] = burn
    await gen.call("close_idle", timeout=600)
    await gen.call("close_chat")


def _ms(v: float | None) -> str:
    return "lost" if v is None or v == float("inf") else f"{v:.1f}"
