"""Revenue uplift per variant in the rule stats, and stopping a variant: the REST numbers
are the pure statistics of the visitors' real revenue, and a
variant stops with one call — a new rule version that never shows it again."""

from __future__ import annotations

import asyncio

import httpx

from invitations.experiments import choose_variant, is_held_out
from server.chat.revenue_uplift import Moments, msprt, welch
from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import deployment

HOLDOUT_PCT = 50
VARIANTS = [
    {"id": "a", "weight": 1, "text": {"en": "Hi A"}},
    {"id": "b", "weight": 1, "text": {"en": "Hi B"}},
]
RULE = {
    "name": "Everyone, two variants",
    "when": {"fact": "page.path", "op": "glob", "value": "/*"},
    "gates": {"max_per_visit": 1},
    "holdout_pct": HOLDOUT_PCT,
    "variants": VARIANTS,
}


def api(chat: ChatSite) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url,
        timeout=30,
        headers={"Authorization": f"Bearer {chat.admin_token}"},
    )


async def test_revenue_uplift_per_variant_and_stopping_one(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("single", tmp_path, redis_prefix) as (node,):
        chat = await make_chat_site(node)
        base = f"/api/v1/sites/{chat.site['id']}"
        async with api(chat) as client:
            created = await client.post(f"{base}/rules", json=RULE)
            assert created.status_code == 201, created.text
            rule = created.json()
            ids: list[str] = []

            async def visit() -> None:
                visitor, welcome = await chat.visitor(page={"url": "https://shop.example.com/"})
                ids.append(welcome["visitor_id"])
                await visitor.request({"type": "ping"})  # hello fully processed
                await visitor.close()

            for _ in range(4):
                await asyncio.gather(*(visit() for _ in range(20)))
            group: dict[str, str] = {}
            for v in ids:
                if is_held_out(v, rule["id"], HOLDOUT_PCT):
                    group[v] = "holdout"
                else:
                    group[v] = VARIANTS[choose_variant(v, rule["id"], (1.0, 1.0))]["id"]
            # Every third visitor buys; variant a's buyers spend more, in EUR; one USD sale.
            spent: dict[str, float] = {}
            for i, v in enumerate(sorted(ids)):
                if i % 3:
                    continue
                value = float(40 + i if group[v] == "a" else 20 + i)
                spent[v] = value
                sale = {"value": value, "currency": "EUR", "order_id": f"o{i}"}
                posted = await client.post(
                    f"{base}/events",
                    json={
                        "visitor_id": v,
                        "event": {"type": "track", "event": "conversion", "props": sale},
                    },
                )
                assert posted.status_code == 202, posted.text
            usd = {"value": 5.0, "currency": "USD", "order_id": "usd"}
            await client.post(
                f"{base}/events",
                json={
                    "visitor_id": ids[1],
                    "event": {"type": "track", "event": "conversion", "props": usd},
                },
            )
            stats = (await client.get(f"{base}/rules/{rule['id']}/stats")).json()

            report = stats["revenue_uplift"]
            assert report["currency"] == "EUR" and report["baseline"] == "holdout"
            assert (report["interval_method"], report["always_valid_method"]) == ("welch", "msprt")
            holdout = Moments.of(spent.get(v, 0.0) for v in ids if group[v] == "holdout")
            assert [r["variant_id"] for r in report["variants"]] == ["a", "b"]
            for row in report["variants"]:
                mine = Moments.of(spent.get(v, 0.0) for v in ids if group[v] == row["variant_id"])
                fixed, always = welch(mine, holdout), msprt(mine, holdout)
                assert fixed is not None and always is not None
                assert (row["visitors"], row["baseline_visitors"]) == (mine.n, holdout.n)
                assert row["revenue_per_visitor"] == round(mine.mean, 4)
                assert row["diff"] == round(mine.mean - holdout.mean, 4)
                assert row["interval"] == {"low": round(fixed.low, 4), "high": round(fixed.high, 4)}
                assert row["always_valid"]["low"] == round(always.low, 4)
                assert row["always_valid"]["high"] == round(always.high, 4)
                assert row["verdict"] == "unclear"  # fewer than 100 visitors per group
                assert (row["weight"], row["stopped"]) == (1, False)

            # Stop variant b: weight 0 in a new version; stopping it again changes nothing.
            stopped = await client.post(f"{base}/rules/{rule['id']}/variants/b/stop")
            assert stopped.status_code == 200, stopped.text
            body = stopped.json()
            assert body["version"] == rule["version"] + 1
            assert [(v["id"], v["weight"]) for v in body["variants"]] == [("a", 1), ("b", 0)]
            again = await client.post(f"{base}/rules/{rule['id']}/variants/b/stop")
            assert (again.status_code, again.json()["version"]) == (200, body["version"])
            stats = (await client.get(f"{base}/rules/{rule['id']}/stats")).json()
            flags = {r["variant_id"]: r["stopped"] for r in stats["revenue_uplift"]["variants"]}
            assert flags == {"a": False, "b": True}

            last = await client.post(f"{base}/rules/{rule['id']}/variants/a/stop")
            assert last.status_code == 409
            assert last.json()["error"] == {
                "code": "conflict",
                "message": "the last running variant cannot be stopped: disable the rule instead",
            }
            unknown = await client.post(f"{base}/rules/{rule['id']}/variants/zz/stop")
            assert unknown.status_code == 404
            assert unknown.json()["error"] == {"code": "not_found", "message": "no such variant"}
            no_rule = await client.post(f"{base}/rules/rl_nope/variants/a/stop")
            assert no_rule.status_code == 404
            assert no_rule.json()["error"]["message"] == "no such rule"

            # After the stop, new visitors who are invited all see variant a.
            before = len(ids)
            for _ in range(20):
                await visit()
            invited = [v for v in ids[before:] if not is_held_out(v, rule["id"], HOLDOUT_PCT)]
            stats = (
                await client.get(
                    f"{base}/rules/{rule['id']}/stats", params={"version": body["version"]}
                )
            ).json()
            assert {v["variant_id"] for v in stats["variants"]} <= {"a"}
            assert sum(v["triggered"] for v in stats["variants"]) == len(invited)
