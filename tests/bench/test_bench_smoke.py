"""The bench works: `python -m bench run --quick` runs every scenario for every system
at a tiny size and writes sane results. Figures are not asserted — the
machine decides those — only that each exists and is self-consistent."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PEERS = ["starlette_relay", "python_socketio", "node_socketio"]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--quick", "--output", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    doc = json.loads(out.read_text())
    doc["stdout"] = done.stdout
    doc["returncode"] = done.returncode
    return doc


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and math.isfinite(v) and v >= 0


@pytest.mark.timeout(900)
def test_every_system_ran_or_was_skipped_with_a_reason(results: dict) -> None:
    assert results["returncode"] == 0, results["stdout"][-3000:]
    systems = results["systems"]
    assert set(systems) == {"beckon_pg", "beckon_sqlite", *PEERS}
    for name, entry in systems.items():
        assert "failed" not in entry, (name, entry.get("failed"))
        if name == "node_socketio" and shutil.which("npm") is None:
            assert "npm" in entry["skipped"]
            continue
        assert "results" in entry, name


@pytest.mark.timeout(900)
def test_chat_latency_and_throughput_are_sane(results: dict) -> None:
    for name, entry in results["systems"].items():
        res = entry.get("results")
        if res is None:
            continue
        assert entry["store"] in ("postgresql", "sqlite", "none")
        for rate, r in res["a"].items():
            assert r["sent"] == round(float(rate) * results["plan"]["rate_s"]), (name, rate)
            assert r["delivered"] == r["sent"] and r["acked"] == r["sent"], (name, r)
            assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"], (name, r)
            assert 0 <= r["gen_cpu"] <= 1.5
        b = res["b"]
        assert b["steps"], name
        assert b["max_rate"] in [0, *results["plan"]["ladder"]]
        for step in b["steps"]:
            assert step["attempt"] in (1, 2) and isinstance(step["ok"], bool)


@pytest.mark.timeout(900)
def test_idle_memory_connects_and_behaviour_are_sane(results: dict) -> None:
    plan = results["plan"]
    for name, entry in results["systems"].items():
        res = entry.get("results")
        if res is None:
            continue
        if name != "beckon_sqlite":
            for n in plan["idle"]:
                c = res["c"][str(n)]
                assert c["still_open"] == n and not c["errors"], (name, c)
                assert c["rss_after"] > 0 and _finite(c["bytes_per_socket"] + 1e9)
        d = res["d"]
        assert d["open"] == plan["connects"] and not d["errors"], (name, d)
        assert d["per_s"] > 0
    beckon = results["systems"]["beckon_pg"]["results"]
    e = beckon["e"]
    assert e["visitors"] == plan["visitors_e"] and e["events"] > 0 and e["per_s"] > 0
    assert isinstance(e["engine_live"], bool) and e["note"]
    assert beckon["engine"]["returncode"] == 0 and beckon["engine"]["indexed_events_per_s"] > 0


@pytest.mark.timeout(900)
def test_table_prints_ratios_against_every_peer(results: dict) -> None:
    table = results["table"]
    for col in ("pg÷relay", "pg÷pysio", "sqlite÷relay"):
        assert col in table
    if "results" in results["systems"]["node_socketio"]:
        assert "pg÷node" in table
    assert results["targets"]
    assert "Targets (same run)" in results["stdout"]


@pytest.mark.timeout(900)
def test_shop_day_and_idle_burn_are_sane(results: dict) -> None:
    """Scenario (f) steps through the plan's sizes and (i) measures every system."""
    plan = results["plan"]
    for name, entry in results["systems"].items():
        res = entry.get("results")
        if res is None:
            continue
        f = res["f"]
        assert f["steps"], name
        assert f["visitors_held"] in [0, *plan["shop_steps"]], name
        for step in f["steps"]:
            assert step["visitors"] in plan["shop_steps"] and isinstance(step["ok"], bool)
            assert step["connects"] > 0 and step["events"] > 0, (name, step)
            assert step["delivered"] <= step["messages"]
            if step["ok"]:
                assert step["connect_p99_ms"] <= 100 and step["connects_failed"] == 0
        if name.startswith("beckon"):
            # Visits reach the checkout with a cart inside a step, and its rules invite
            # them. A step that passed had its connects on time, so its visits got there
            # (a busy machine can make every step fail: then they may not have).
            for step in f["steps"]:
                assert step["invitations"] > 0 or not step["ok"], (name, step)
        burn = res["i"]
        assert _finite(burn["idle_cpu"]) and burn["visitors"] == plan["burn_visitors"], name
        for rate in plan["burn_rates"]:
            r = burn["rates"][str(rate)]
            assert r["sent"] > 0 and _finite(r["cpu_ms_per_message"]), (name, rate)
    assert "f shop day: visitors held" in results["table"]
    assert "i idle burn: server+db core" in results["table"]
