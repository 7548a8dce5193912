"""Backtest = live, as a property: hypothesis draws a site budget, a
rule set and visitors' traffic; the traffic goes through a real `beckon serve` (recorded
in the visit log as production records it) and then through the whole-rule-set
backtest; every visitor's decisions must be the same — invited / held out, rule and
variant, in order — and so must the gates blocking each rule at the end (the "why").

Traffic runs in real time with steps `STEP_S` apart (`tests/backtest_traffic.py`); the
rules' time-driven parts (delays, time on page, sliding windows) sit well inside a step
so a scheduling hiccup cannot reorder them. Pacing on agents' load is left out here (a
live node's load moves with real agents); `tests/integration/test_backtest_live_cases.py`
and `tests/unit/invitations/test_inv_replay.py` cover it on a capacity series.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.backtest_traffic import PATHS, live_decisions, run_traffic, visit_log_written
from tests.beckon_process import BeckonProcess, subprocess_env
from tests.chat_setup import make_chat_site
from tests.ws_client import ws_url

condition = st.sampled_from(
    [
        {"fact": "visit.page_views", "op": "gte", "value": 1},
        {"fact": "visit.page_views", "op": "gte", "value": 2},
        {"fact": "page.path", "op": "eq", "value": "/a"},
        {"fact": "page.path", "op": "glob", "value": "/shop/*"},
        {"fact": "cart.value", "op": "gte", "value": 100},
        {"fact": "page.time_s", "op": "gte", "value": 0.4},
        # Two adds within 1.2 s: steps are 0.8 s apart, so an add leaves the window
        # half-way between steps (time-driven, like a wake).
        {"fact": "event.add_to_cart", "op": "gte", "value": 2, "within_s": 1.2},
        {"fact": "event.add_to_cart", "op": "lt", "value": 1, "within_s": 1.2},
        {
            "time": {
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "from": "00:00",
                "to": "24:00",
            }
        },
        {
            "not": {
                "time": {
                    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "from": "00:00",
                    "to": "24:00",
                }
            }
        },
    ]
)
gates = st.fixed_dictionaries(
    {},
    optional={
        "max_per_visit": st.integers(1, 3),
        "cooldown_after_dismiss_s": st.just(3600),
    },
)
variants = st.lists(
    st.fixed_dictionaries({"weight": st.integers(1, 3), "delay_s": st.sampled_from([0, 0, 0.4])}),
    min_size=1,
    max_size=2,
)
rule_bodies = st.lists(
    st.fixed_dictionaries(
        {
            "when": st.lists(condition, min_size=1, max_size=2),
            "gates": gates,
            "holdout_pct": st.sampled_from([0, 0, 50]),
            "variants": variants,
        }
    ),
    min_size=1,
    max_size=3,
)
action = st.one_of(
    st.tuples(st.just("page_view"), st.sampled_from(PATHS)),
    st.tuples(st.just("cart"), st.sampled_from([50, 150])),
    st.tuples(st.just("add_to_cart"), st.none()),
    # Answers often, so the budgets and caps are reached within a short run.
    st.tuples(
        st.sampled_from(["dismiss", "dismiss", "accept", "close_chat", "leave", "wait"]),
        st.none(),
    ),
)
traffic = st.lists(st.lists(action, min_size=1, max_size=5), min_size=1, max_size=3)
budgets = st.fixed_dictionaries(
    {
        "max_invitations_per_visit": st.sampled_from([0, 1, 1, 2, 3]),
        "max_invitations_per_day": st.sampled_from([1, 5, 5]),
    }
)


class LiveNode:
    """A `beckon serve` driven from a loop in a thread, so hypothesis (sync) can use it."""

    def __init__(self, directory: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.process = BeckonProcess(subprocess_env(directory), directory)
        self.database = directory / "beckon.db"
        self.sites = 0

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.process.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    live = LiveNode(tmp_path_factory.mktemp("live"))
    live.call(live.process.create_admin())
    live.call(live.process.start())
    try:
        yield live
    finally:
        live.stop()


async def scenario(node: LiveNode, budget: dict, bodies: list[dict], plans: list) -> None:
    node.sites += 1
    chat = await make_chat_site(node.process, agent_email=f"agent{node.sites}@example.com")
    auth = {"Authorization": f"Bearer {chat.admin_token}"}
    site_id = chat.site["id"]
    async with httpx.AsyncClient(base_url=chat.server_url, headers=auth, timeout=60) as api:
        patched = await api.patch(f"/api/v1/sites/{site_id}", json={"settings": budget})
        assert patched.status_code == 200, patched.text
        for n, body in enumerate(bodies):
            rule = {
                "name": f"rule {n}",
                "priority": 10 - n,
                "when": {"all": body["when"]},
                "gates": body["gates"],
                "holdout_pct": body["holdout_pct"],
                "variants": [
                    {"id": f"v{i}", "text": {"en": f"r{n} v{i}"}, **v}
                    for i, v in enumerate(body["variants"])
                ],
            }
            saved = await api.post(f"/api/v1/sites/{site_id}/rules", json=rule)
            assert saved.status_code == 201, saved.text
        started = int(time.time() * 1000) - 1000
        url = ws_url(chat.server_url, f"/ws/visitor?site={chat.site['key']}")
        visitors = await run_traffic(url, plans)
        snapshot_ts = int(time.time() * 1000)
        live_why = {}
        for v in visitors:
            why = (await api.get(f"/api/v1/sites/{site_id}/visitors/{v.visitor_id}/why")).json()
            live_why[v.visitor_id] = sorted(
                (i["rule_id"], i["reason"]) for i in why["items"] if i["outcome"] == "blocked"
            )
        await visit_log_written(api)
        report = await api.post(
            f"/api/v1/sites/{site_id}/backtest",
            json={"from_ts": started, "to_ts": snapshot_ts + 1, "snapshot_ts": snapshot_ts},
        )
        assert report.status_code == 200, report.text
        for v in visitors:
            if v.ws is not None:
                await v.leave()
    replayed = {p["visitor_id"]: p for p in report.json()["per_visitor"]}
    live = live_decisions(node.database, site_id)
    for v in visitors:
        mine = replayed[v.visitor_id]
        assert [
            (o["rule_id"], o["variant_id"], o["outcome"])
            for o in mine["outcomes"]
            if o["outcome"] in ("invited", "held_out")
        ] == live.get(v.visitor_id, []), (budget, bodies, plans)
        assert (
            sorted((g["rule_id"], g["gate"]) for g in mine["gates_at"]) == live_why[v.visitor_id]
        ), (budget, bodies, plans)


@settings(
    max_examples=16,
    derandomize=True,
    deadline=None,
    database=None,
    # Shrinking re-runs real traffic for minutes; the failing example is printed as drawn.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(budget=budgets, bodies=rule_bodies, plans=traffic)
def test_the_backtest_decides_as_the_live_node(node: LiveNode, budget, bodies, plans) -> None:  # type: ignore[no-untyped-def]
    node.call(scenario(node, budget, bodies, plans))
