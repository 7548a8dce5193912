"""Richer conditions on a live node: an event count over a sliding
window fires a rule, and "matching now" tells matching visitors from those the rule
would invite now (gates applied)."""

from __future__ import annotations

import time

import httpx

from tests.beckon_process import BeckonProcess, subprocess_env
from tests.chat_setup import make_chat_site
from tests.routing_setup import online_agent
from tests.waiting import wait_until

TWO_ADDS = {
    "name": "two adds in ten minutes",
    "when": {
        "all": [
            {"fact": "event.add_to_cart", "op": "gte", "value": 2, "within_s": 600},
            {"not": {"time": {"days": ["mon"], "from": "00:00", "to": "00:01"}}},
        ]
    },
    "gates": {"max_per_visit": 1},
    "variants": [{"id": "a", "text": {"en": "Need a hand?"}}],
}


async def test_a_windowed_count_fires_and_matching_applies_the_gates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    process = BeckonProcess(subprocess_env(tmp_path), tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        base = f"/api/v1/sites/{chat.site['id']}/rules"
        async with httpx.AsyncClient(base_url=chat.server_url, headers=auth, timeout=30) as api:
            saved = await api.post(base, json=TWO_ADDS)
            assert saved.status_code == 201, saved.text
            rule_id = saved.json()["id"]
            visitor, _ = await chat.visitor(page={"url": "https://shop.example.com/p/1"})
            await visitor.send({"type": "track", "event": "add_to_cart"})

            async def counts() -> dict:
                return (await api.get(f"{base}/{rule_id}/matching")).json()

            # One add: online, not matching.
            assert await wait_until(counts, lambda c: c["online"] == 1, 10, "online") == {
                "matching": 0,
                "would_invite": 0,
                "online": 1,
                "exact": True,
            }
            draft = await api.post(
                f"{base}/matching",
                json={
                    **TWO_ADDS,
                    "when": {
                        "all": [
                            {"fact": "event.add_to_cart", "op": "gte", "value": 1, "within_s": 600}
                        ]
                    },
                },
            )
            assert draft.json() == {"matching": 1, "would_invite": 1, "online": 1, "exact": True}
            started = time.monotonic()
            await visitor.send({"type": "track", "event": "add_to_cart"})
            invitation = await visitor.expect("invitation", timeout=10)
            assert invitation["rule_id"] == rule_id and time.monotonic() - started < 10
            # Still matching, but on screen (and its one per visit used): nobody to invite.
            assert await counts() == {"matching": 1, "would_invite": 0, "online": 1, "exact": True}
            bad = await api.post(
                f"{base}/validate",
                json={
                    **TWO_ADDS,
                    "when": {"fact": "cart.value", "op": "gte", "value": 1, "within_s": 60},
                },
            )
            assert bad.status_code == 422
            assert bad.json()["error"]["details"] == [
                {"path": "when.within_s", "message": "within_s applies only to event.NAME counts"}
            ]
            await visitor.close()
    finally:
        await process.stop()


async def test_predicted_wait_gate_and_its_inputs_live(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**subprocess_env(tmp_path), "BECKON_DEFAULT_HANDLE_TIME_S": "120"}
    process = BeckonProcess(env, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process, capacity=3)
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        site_id = chat.site["id"]
        async with httpx.AsyncClient(base_url=chat.server_url, headers=auth, timeout=30) as api:
            rule = {
                "name": "only when answered soon",
                "when": {"fact": "visit.page_views", "op": "gte", "value": 1},
                "gates": {"max_predicted_wait_s": 30, "max_per_visit": 1},
                "variants": [{"id": "a", "text": {"en": "Chat with us?"}}],
            }
            saved = await api.post(f"/api/v1/sites/{site_id}/rules", json=rule)
            assert saved.status_code == 201, saved.text
            visitor, welcome = await chat.visitor(page={"url": "https://shop.example.com/"})

            async def why() -> list:
                path = f"/api/v1/sites/{site_id}/visitors/{welcome['visitor_id']}/why"
                return (await api.get(path)).json()["items"]

            items = await wait_until(
                why, lambda i: bool(i) and i[0]["reason"] != "no_visit", 10, "the hello applied"
            )
            assert [(i["outcome"], i["reason"]) for i in items] == [("blocked", "agent_offline")]
            prediction = (await api.get(f"/api/v1/sites/{site_id}/wait-prediction")).json()
            assert prediction["items"][0] == {
                "department": "",
                "agents_online": 0,
                "servers": 0,
                "free_slots": 0,
                "queued_chats": 0,
                "arrivals_per_hour": 0.0,
                "handle_time_s": 120.0,
                "load_erlangs": 0.0,
                "wait_probability": 1.0,
                "predicted_wait_s": None,
            }
            agent = await online_agent(chat, chat.server_url, chat.agent_token)
            # The visitor held back by load looks again within 2 s: invited now.
            invitation = await visitor.expect("invitation", timeout=10)
            assert invitation["rule_id"] == saved.json()["id"]

            async def predicted() -> dict:
                return (await api.get(f"/api/v1/sites/{site_id}/wait-prediction")).json()

            after = await wait_until(
                predicted, lambda p: p["items"][0]["servers"] == 3, 10, "the agent's slots"
            )
            assert after["items"][0]["predicted_wait_s"] == 0.0
            assert after["items"][0]["agents_online"] == 1
            await visitor.close()
            await agent.close()
    finally:
        await process.stop()
