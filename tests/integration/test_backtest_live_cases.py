"""Backtest = live on hand-made cases: the site budget ("17 shown
in the backtest, 1 live"), an agent's close, pacing on a capacity series, an agent's
manual invitation — each run through a real node, then through the backtest."""

from __future__ import annotations

import time

import httpx

from tests.backtest_traffic import PATHS, live_decisions, run_traffic, visit_log_written
from tests.beckon_process import BeckonProcess, subprocess_env
from tests.chat_setup import make_chat_site
from tests.waiting import wait_until
from tests.ws_client import ws_url


async def test_the_site_budget_holds_in_the_backtest_as_live(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The reported "17 shown in the backtest vs 1 live": the site's per-visit budget."""
    process = BeckonProcess(subprocess_env(tmp_path), tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        site_id = chat.site["id"]
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        async with httpx.AsyncClient(base_url=chat.server_url, headers=auth, timeout=60) as api:
            await api.patch(
                f"/api/v1/sites/{site_id}", json={"settings": {"max_invitations_per_visit": 1}}
            )
            rule = {
                "name": "every page",
                "when": {"fact": "visit.page_views", "op": "gte", "value": 1},
                "variants": [{"id": "a", "text": {"en": "Hi"}}],
            }
            saved = (await api.post(f"/api/v1/sites/{site_id}/rules", json=rule)).json()
            started = int(time.time() * 1000) - 1000
            url = ws_url(chat.server_url, f"/ws/visitor?site={chat.site['key']}")
            plan = [("dismiss", None), *[("page_view", p) for p in PATHS * 3]]
            (visitor,) = await run_traffic(url, [plan])
            window = {"from_ts": started, "to_ts": int(time.time() * 1000) + 1}
            await visit_log_written(api)
            one = await api.post(
                f"/api/v1/sites/{site_id}/rules/{saved['id']}/backtest", json=window
            )
            every = await api.post(f"/api/v1/sites/{site_id}/backtest", json=window)
            await visitor.leave()
            assert live_decisions(tmp_path / "beckon.db", site_id) == {
                visitor.visitor_id: [(saved["id"], "a", "invited")]
            }
            for report in (one.json(), every.json()):
                assert report["rules"][0]["shown"] == 1
                (mine,) = report["per_visitor"]
                assert [o["outcome"] for o in mine["outcomes"]] == ["invited"]
                assert mine["blocked"] == {"*": ["fatigue", "invitation_on_screen"]}
            # Bad input: exact codes and messages.
            cases = [
                (
                    f"/api/v1/sites/{site_id}/backtest",
                    {**window, "replaces": "rl_nope"},
                    404,
                    "no such enabled rule to replace",
                ),
                (
                    f"/api/v1/sites/{site_id}/backtest",
                    {**window, "capacity": [{"from_ts": 0, "agents_online": 1}]},
                    422,
                    None,
                ),
                (
                    f"/api/v1/sites/{site_id}/backtest",
                    {"from_ts": 5, "to_ts": 5},
                    400,
                    "from_ts must be before to_ts",
                ),
            ]
            for path, body, status, message in cases:
                response = await api.post(path, json=body)
                assert response.status_code == status, response.text
                if message is not None:
                    assert response.json()["error"]["message"] == message
                else:
                    details = response.json()["error"]["details"]
                    assert details[0]["path"] == "capacity.0.free_slots", details
    finally:
        await process.stop()


async def test_an_agents_close_reaches_the_engine_and_the_visit_log(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Before, only the visitor's reconnect told the engine a chat had ended (and the log
    never did): a visitor whose chat an agent closed was never invited again."""
    process = BeckonProcess(subprocess_env(tmp_path), tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        site_id = chat.site["id"]
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        async with httpx.AsyncClient(base_url=chat.server_url, headers=auth, timeout=60) as api:
            rule = {
                "name": "every visit, twice",
                "when": {"fact": "visit.page_views", "op": "gte", "value": 1},
                "gates": {"max_per_visit": 2},
                "variants": [{"id": "a", "text": {"en": "Hi"}}],
            }
            saved = (await api.post(f"/api/v1/sites/{site_id}/rules", json=rule)).json()
            agent, _ = await chat.agent_socket()
            await agent.request({"type": "status", "status": "online"})
            started = int(time.time() * 1000) - 1000
            visitor, _ = await chat.visitor(page={"url": "https://shop.example.com/"})
            first = await visitor.expect("invitation")
            await visitor.send(
                {"type": "invitation_shown", "invitation_id": first["invitation_id"]}
            )
            conv = await visitor.request(
                {"type": "invitation_accept", "invitation_id": first["invitation_id"]}
            )
            assert conv["type"] == "conversation", conv
            await agent.expect(lambda f: f.get("type") == "conversation" and f["id"] == conv["id"])
            await agent.request({"type": "close", "conversation_id": conv["id"]})
            second = await visitor.expect("invitation", timeout=10)
            assert second["invitation_id"] != first["invitation_id"]
            await visitor.send(
                {"type": "invitation_shown", "invitation_id": second["invitation_id"]}
            )
            window = {"from_ts": started, "to_ts": int(time.time() * 1000) + 1}

            async def replay() -> dict:
                return (await api.post(f"/api/v1/sites/{site_id}/backtest", json=window)).json()

            report = await wait_until(
                replay,
                lambda r: len(r["per_visitor"]) == 1 and len(r["per_visitor"][0]["outcomes"]) > 1,
                10,
                "the backtest to replay both invitations",
            )
            (mine,) = report["per_visitor"]
            assert [(o["rule_id"], o["outcome"]) for o in mine["outcomes"]] == [
                (saved["id"], "invited"),
                (saved["id"], "invited"),
            ]
            await visitor.close()
            await agent.close()
    finally:
        await process.stop()


async def test_pacing_on_the_capacity_series_decides_as_live(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One agent with one free slot: the second visitor waits for the first's dismissal,
    live and in the backtest given that capacity."""
    process = BeckonProcess(subprocess_env(tmp_path), tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process, capacity=1)
        site_id = chat.site["id"]
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        async with httpx.AsyncClient(base_url=chat.server_url, headers=auth, timeout=60) as api:
            rule = {
                "name": "paced",
                "when": {"fact": "visit.page_views", "op": "gte", "value": 1},
                "gates": {"require_agent_online": True, "max_per_visit": 1},
                "variants": [{"id": "a", "text": {"en": "Hi"}}],
            }
            saved = (await api.post(f"/api/v1/sites/{site_id}/rules", json=rule)).json()
            agent, _ = await chat.agent_socket()
            await agent.request({"type": "status", "status": "online"})
            started = int(time.time() * 1000)
            first, _ = await chat.visitor(page={"url": "https://shop.example.com/"})
            offer = await first.expect("invitation")
            second, welcome = await chat.visitor(page={"url": "https://shop.example.com/"})

            async def why() -> list:
                path = f"/api/v1/sites/{site_id}/visitors/{welcome['visitor_id']}/why"
                return (await api.get(path)).json()["items"]

            held = await wait_until(
                why, lambda i: bool(i) and i[0]["reason"] != "no_visit", 10, "the hello applied"
            )
            assert [(i["outcome"], i["reason"]) for i in held] == [("blocked", "no_capacity")]
            await first.send(
                {"type": "invitation_dismiss", "invitation_id": offer["invitation_id"]}
            )
            assert (await second.expect("invitation", timeout=10))["rule_id"] == saved["id"]
            window = {
                "from_ts": started - 1000,
                "to_ts": int(time.time() * 1000) + 1,
                "capacity": [{"from_ts": started - 1000, "agents_online": 1, "free_slots": 1}],
            }

            async def replay() -> dict:
                return (await api.post(f"/api/v1/sites/{site_id}/backtest", json=window)).json()

            report = await wait_until(
                replay,
                lambda r: sum(len(v["outcomes"]) for v in r["per_visitor"]) >= 2,
                10,
                "both visits in the log",
            )
            by_visitor = {v["visitor_id"]: v for v in report["per_visitor"]}
            late = by_visitor[welcome["visitor_id"]]
            assert [o["outcome"] for o in late["outcomes"]] == ["invited"]
            assert late["blocked"][saved["id"]] == ["no_capacity"]
            # Without a capacity series every department has room: both at once.
            unbounded = await api.post(
                f"/api/v1/sites/{site_id}/backtest",
                json={"from_ts": window["from_ts"], "to_ts": window["to_ts"]},
            )
            free = {v["visitor_id"]: v for v in unbounded.json()["per_visitor"]}
            assert saved["id"] not in free[welcome["visitor_id"]]["blocked"]
            for ws in (first, second, agent):
                await ws.close()
    finally:
        await process.stop()


async def test_an_agents_manual_invitation_counts_in_the_replay(tmp_path) -> None:  # type: ignore[no-untyped-def]
    process = BeckonProcess(subprocess_env(tmp_path), tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        site_id = chat.site["id"]
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        async with httpx.AsyncClient(base_url=chat.server_url, headers=auth, timeout=60) as api:
            await api.patch(
                f"/api/v1/sites/{site_id}", json={"settings": {"max_invitations_per_visit": 1}}
            )
            rule = {
                "name": "second page",
                "when": {"fact": "visit.page_views", "op": "gte", "value": 2},
                "variants": [{"id": "a", "text": {"en": "Hi"}}],
            }
            saved = (await api.post(f"/api/v1/sites/{site_id}/rules", json=rule)).json()
            agent, _ = await chat.agent_socket()
            started = int(time.time() * 1000)
            visitor, welcome = await chat.visitor(page={"url": "https://shop.example.com/"})

            async def why() -> list:
                path = f"/api/v1/sites/{site_id}/visitors/{welcome['visitor_id']}/why"
                return (await api.get(path)).json()["items"]

            # The hello reaches the engine after the welcome: invite once it has.
            await wait_until(why, lambda i: i[0]["outcome"] == "false", 10, "the hello")
            invited = await agent.request(
                {"type": "invite", "visitor_id": welcome["visitor_id"], "text": "Hello from Ana"}
            )
            assert invited["type"] == "invited", invited
            manual = await visitor.expect("invitation")
            await visitor.send(
                {"type": "invitation_dismiss", "invitation_id": manual["invitation_id"]}
            )
            await visitor.send({"type": "page_view", "url": "https://shop.example.com/2"})

            gates = await wait_until(
                why, lambda i: i[0]["reason"] == "fatigue", 10, "the page view"
            )
            assert [(i["rule_id"], i["reason"]) for i in gates] == [(saved["id"], "fatigue")]
            window = {"from_ts": started - 1000, "to_ts": int(time.time() * 1000) + 1}

            async def replay() -> dict:
                return (await api.post(f"/api/v1/sites/{site_id}/backtest", json=window)).json()

            report = await wait_until(
                replay,
                lambda r: r["events"] >= 5,  # hello, its conversation state, manual, dismiss, view
                10,
                "the visit in the log",
            )
            (mine,) = report["per_visitor"]
            assert mine["outcomes"] == []
            assert mine["gates_at"] == [{"rule_id": saved["id"], "gate": "fatigue"}]
            await visitor.close()
            await agent.close()
    finally:
        await process.stop()
