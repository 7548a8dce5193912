"""Results → the printed table, the ratios against each peer, and the target check."""

from __future__ import annotations

import math
from typing import Any

PEERS = ("starlette_relay", "python_socketio", "node_socketio")


def _get(res: dict[str, Any], *path: str) -> float | None:
    cur: Any = res
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    if cur is None:
        return math.inf if path[-1].endswith("_ms") else None
    return float(cur) if isinstance(cur, int | float) else None


def metrics(res: dict[str, Any], plan: dict[str, Any]) -> dict[str, float | None]:
    """The figures of one system, by row name."""
    m: dict[str, float | None] = {}
    for rate in plan["rates"]:
        for q in ("p50", "p99", "max"):
            m[f"a {rate}/s {q} ms"] = _get(res, "a", str(rate), f"{q}_ms")
        m[f"a {rate}/s ack p99 ms"] = _get(res, "a", str(rate), "ack_p99_ms")
    m["b sustained msg/s (p99≤50ms)"] = _get(res, "b", "max_rate")
    for n in plan["idle"]:
        per = _get(res, "c", str(n), "bytes_per_socket")
        m[f"c {n} idle: KiB/socket"] = per / 1024 if per is not None else None
        m[f"c {n} idle: sockets open"] = _get(res, "c", str(n), "still_open")
    m["d connects/s"] = _get(res, "d", "per_s")
    m["d connects/s, returning visitors"] = _get(res, "d_returning", "per_s")
    m["e behaviour events/s"] = _get(res, "e", "per_s")
    m["e pure engine events/s"] = _get(res, "engine", "indexed_events_per_s")
    m["f shop day: visitors held"] = _get(res, "f", "visitors_held")
    m["f connect p99 ms (at that step)"] = _get(res, "f", "best", "connect_p99_ms")
    m["f message p99 ms (at that step)"] = _get(res, "f", "best", "message_p99_ms")
    m["f connects/s (at that step)"] = _get(res, "f", "best", "connects_per_s")
    idle = _get(res, "i", "idle_cpu")
    m["i idle burn: server+db core"] = idle
    for rate in plan.get("burn_rates", []):
        m[f"i CPU ms/msg at {rate}/s"] = _get(res, "i", "rates", str(rate), "cpu_ms_per_message")
    gens = [r.get("gen_cpu") for r in _phase_results(res) if r.get("gen_cpu") is not None]
    m["load generator core, max"] = max(gens) if gens else None
    return m


def _phase_results(res: dict[str, Any]) -> list[dict[str, Any]]:
    out = list((res.get("a") or {}).values())
    out += (res.get("b") or {}).get("steps", [])
    out += list((res.get("c") or {}).values())
    out += [res[k] for k in ("d", "d_returning", "e") if isinstance(res.get(k), dict)]
    out += (res.get("f") or {}).get("steps", [])
    out += list(((res.get("i") or {}).get("rates") or {}).values())
    return out


HIGHER_BETTER = ("msg/s", "connects/s", "events/s", "sockets open", "visitors held")


def better_is_higher(row: str) -> bool:
    if "ms/msg" in row or " ms" in row:
        return False
    return any(row.endswith(s) or s in row for s in HIGHER_BETTER)


def fmt(v: float | None, row: str = "") -> str:
    if v is None:
        return "—"
    if math.isinf(v):
        return "lost"
    if "burn" in row:
        return f"{v:.1%}"
    if "core" in row:
        return f"{v:.0%}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or math.isinf(a) or math.isinf(b):
        return None
    return a / b


def table(results: dict[str, dict[str, Any]], plan: dict[str, Any]) -> tuple[str, dict]:
    names = list(results)
    per = {n: metrics(results[n].get("results", {}), plan) for n in names}
    rows = list(next(iter(per.values())).keys()) if per else []
    # Rows of scenarios this run did not include are left out.
    rows = [row for row in rows if any(per[n][row] is not None for n in names)]
    beckons = [n for n in names if n.startswith("beckon")]
    peers = [n for n in names if n in PEERS]
    ratio_cols = [(b, p) for b in beckons for p in peers]
    head = ["figure", *names, *(f"{b.removeprefix('beckon_')}÷{_short(p)}" for b, p in ratio_cols)]
    lines = [head]
    ratios: dict[str, dict[str, float | None]] = {}
    for row in rows:
        cells = [row] + [fmt(per[n][row], row) for n in names]
        for b, p in ratio_cols:
            r = ratio(per[b][row], per[p][row]) if not row.startswith("load gen") else None
            ratios.setdefault(f"{b}/{p}", {})[row] = r
            cells.append("—" if r is None else f"{r:.2f}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for k, line in enumerate(lines):
        out.append(
            "  ".join(
                c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(line)
            )
        )
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append(
        "ratios are Beckon ÷ peer: ≥ 1 is better for msg/s, connects/s, events/s, "
        "sockets open and visitors held; ≤ 1 is better for latency, KiB/socket, idle "
        "burn (shown as a ratio although the row is a core share) and CPU per message."
    )
    return "\n".join(out), ratios


def _short(peer: str) -> str:
    return {"starlette_relay": "relay", "python_socketio": "pysio", "node_socketio": "node"}.get(
        peer, peer
    )


def targets(results: dict[str, dict[str, Any]], plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The first targets, for each Beckon store, against the peers measured in this run."""
    per = {n: metrics(r.get("results", {}), plan) for n, r in results.items()}
    out: list[dict[str, Any]] = []
    top_rate = plan["rates"][-1]
    idle_n = plan["idle"]

    def check(name: str, beckon: str, ok: bool | None, detail: str) -> None:
        out.append({"target": name, "system": beckon, "met": ok, "detail": detail})

    for b in (n for n in per if n.startswith("beckon")):
        mb = per[b]
        node, relay = per.get("node_socketio"), per.get("starlette_relay")
        thr = "b sustained msg/s (p99≤50ms)"
        if node:
            check(
                "sustained msg/s ≥ node_socketio",
                b,
                _cmp(mb[thr], node[thr], ">="),
                f"{fmt(mb[thr])} vs {fmt(node[thr])}",
            )
        if relay:
            v = relay[thr] * 2 if relay[thr] is not None else None
            check(
                "sustained msg/s ≥ 2× starlette_relay",
                b,
                _cmp(mb[thr], v, ">="),
                f"{fmt(mb[thr])} vs 2×{fmt(relay[thr])}",
            )
        if node:
            row = f"a {top_rate}/s p99 ms"
            check(
                f"p99 at {top_rate} msg/s ≤ node_socketio",
                b,
                _cmp(mb[row], node[row], "<="),
                f"{fmt(mb[row])} vs {fmt(node[row])} ms",
            )
            for n in idle_n:
                row = f"c {n} idle: KiB/socket"
                if mb.get(row) is not None:
                    check(
                        f"memory per idle socket ({n}) ≤ node_socketio",
                        b,
                        _cmp(mb[row], node[row], "<="),
                        f"{fmt(mb[row])} vs {fmt(node[row])} KiB",
                    )
            row = "d connects/s"
            check(
                "connects/s ≥ node_socketio",
                b,
                _cmp(mb[row], node[row], ">="),
                f"{fmt(mb[row])} vs {fmt(node[row])}",
            )
        _issue24(per, b, plan, check)
        c = results[b].get("results", {}).get("c", {})
        if c:
            n = max(idle_n)
            r = c.get(str(n), {})
            ok = bool(r) and r.get("still_open") == n and not r.get("errors")
            detail = f"{r.get('still_open')}/{n} open, errors {r.get('errors') or 'none'}"
            if n < 20000 and not plan.get("quick"):
                detail += f" — capped at {n} by RLIMIT_NOFILE hard limit {plan['nofile'][1]}"
                ok = None if ok else False
            check("20,000 idle visitors on one node without errors", b, ok, detail)
    return out


def _issue24(per: dict[str, dict[str, float | None]], b: str, plan: dict[str, Any], check) -> None:
    """The later targets that the checks above do not already cover."""
    mb, node = per[b], per.get("node_socketio")
    top_rate = plan["rates"][-1]
    if node:
        thr = "b sustained msg/s (p99≤50ms)"
        v = node[thr] * 0.75 if node[thr] is not None else None
        check(
            "sustained msg/s ≥ 0.75 × node_socketio",
            b,
            _cmp(mb[thr], v, ">="),
            f"{fmt(mb[thr])} vs 0.75×{fmt(node[thr])}",
        )
        row = "i idle burn: server+db core"
        if mb.get(row) is not None:
            check(
                "idle burn ≤ node_socketio (same sockets, no traffic)",
                b,
                _cmp(mb[row], node[row], "<="),
                f"{fmt(mb[row], row)} vs {fmt(node[row], row)} of a core",
            )
        for n in plan["idle"]:
            row = f"c {n} idle: KiB/socket"
            if mb.get(row) is not None and node.get(row) is not None:
                check(
                    f"memory per idle socket ({n}) ≤ 0.7 × node_socketio",
                    b,
                    _cmp(mb[row], node[row] * 0.7, "<="),
                    f"{fmt(mb[row])} vs 0.7×{fmt(node[row])} KiB",
                )
    row = f"a {top_rate}/s p99 ms"
    if mb.get(row) is not None:
        check(f"p99 at {top_rate} msg/s ≤ 10 ms", b, mb[row] <= 10, f"{fmt(mb[row])} ms")
    rates = plan.get("burn_rates") or []
    if len(rates) >= 2:
        lo, hi = mb.get(f"i CPU ms/msg at {rates[0]}/s"), mb.get(f"i CPU ms/msg at {rates[-1]}/s")
        if lo is not None and hi is not None:
            check(
                f"CPU per message at {rates[0]} msg/s ≤ 2× at {rates[-1]}",
                b,
                lo <= 2 * hi,
                f"{lo:.3f} vs 2×{hi:.3f} ms",
            )
    row = "e behaviour events/s"
    if mb.get(row) is not None:
        check("live behaviour events/s ≥ 20,000", b, mb[row] >= 20000, f"{fmt(mb[row])}")


def _cmp(a: float | None, b: float | None, op: str) -> bool | None:
    if a is None or b is None or (op == ">=" and b == 0):
        return None  # the peer has no valid figure: nothing to compare against
    return a >= b if op == ">=" else a <= b


def targets_text(items: list[dict[str, Any]]) -> str:
    mark = {True: "MET   ", False: "MISSED", None: "n/a   "}
    return "\n".join(
        f"  {mark[t['met']]} {t['system']:<14} {t['target']}: {t['detail']}" for t in items
    )
