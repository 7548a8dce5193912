"""Export and erase one visitor, on SQLite and on PostgreSQL,
with Redis as the Broker.

The visitor leaves a trace in every place Beckon keeps one: identity, visit events, two
conversations (one still open), messages, a survey comment, an invitation, an offline
message, a conversion and webhook deliveries. After the erasure a query of every table
— enumerated from the SQLAlchemy metadata, so a new table cannot be forgotten — and of
every Redis key under the test's prefix finds nothing of that visitor; the same probe
finds each trace before, so it can fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select, text

from server.store.database import open_database
from server.store.tables import metadata
from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.cluster import cluster
from tests.conftest import REDIS_URL, subprocess_env
from tests.waiting import wait_until
from tests.webhook_receiver import Receiver

FAST = {
    "BECKON_ALLOW_PRIVATE_TARGETS": "true",
    "BECKON_WEBHOOK_RETRY_BASE_S": "0.4",
    "BECKON_WEBHOOK_POLL_S": "0.1",
}
NAME = "Maja Horvat"
EMAIL = "maja.horvat@example.com"
USER_ID = "cust-4242"
# Strings only this visitor's records contain; the visitor id is added per test.
TRACES = [
    NAME,
    EMAIL,
    USER_ID,
    "Ilica-street-17",  # a chat message
    "second-chat-8812",  # a message of the chat still open at erasure
    "survey-comment-7731",
    "offline-note-5530",
    "ord-991-maja",  # the conversion's order id
    "invite-for-maja-61",  # a manual invitation's text
    "receipt-maja-3321",  # an attachment's name (bytes: tests/integration/test_privacy_files.py)
]


@contextlib.asynccontextmanager
async def nodes(kind: str, tmp: Path, prefix: str) -> AsyncIterator[list[BeckonProcess]]:
    """SQLite: one node. PostgreSQL: two nodes (the visitor on the second). Both Redis."""
    if kind == "sqlite":
        env = {
            **subprocess_env(tmp),
            "BECKON_BROKER_URL": REDIS_URL,
            "BECKON_BROKER_PREFIX": prefix,
            **FAST,
        }
        process = BeckonProcess(env, tmp)
        await process.create_admin()
        await process.start()
        try:
            yield [process]
        finally:
            await process.stop()
    else:
        async with cluster(tmp, prefix=prefix, extra_env=FAST) as processes:
            yield processes


def api(chat: ChatSite, url: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url or chat.server_url,
        timeout=30,
        headers={"Authorization": f"Bearer {chat.admin_token}"},
    )


async def leave_traces(
    chat: ChatSite, visitor_node: str, receiver: Receiver
) -> tuple[Any, str, str]:
    """A visitor who did everything; returns (its socket, its id, its token)."""
    async with api(chat) as admin:
        hook = await admin.post(
            f"/api/v1/sites/{chat.site['id']}/webhooks",
            json={
                "url": receiver.url,
                "events": [
                    "conversation.started",
                    "conversation.closed",
                    "message.created",
                    "offline_message.created",
                    "survey.submitted",
                    "conversion.recorded",
                    "visitor.erased",
                ],
            },
        )
        assert hook.status_code == 201, hook.text
        # A rule the cart matches but whose schedule stays closed (a window three days
        # away): the visitor's decisions over time record one change.
        closed_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
            (datetime.now(UTC).weekday() + 3) % 7
        ]
        rule = await admin.post(
            f"/api/v1/sites/{chat.site['id']}/rules",
            json={
                "name": "Big cart",
                "when": {"fact": "cart.value", "op": "gte", "value": 100},
                "gates": {
                    "schedule": {
                        "timezone": "UTC",
                        "windows": [{"days": [closed_day], "from": "00:00", "to": "00:01"}],
                    }
                },
                "variants": [{"id": "a", "text": {"en": "Hi"}}],
            },
        )
        assert rule.status_code == 201, rule.text
    user_hash = hmac.new(
        chat.site["identity_secret"].encode(), USER_ID.encode(), hashlib.sha256
    ).hexdigest()
    visitor, welcome = await chat.visitor(
        visitor_node,
        identity={"user_id": USER_ID, "user_hash": user_hash, "name": NAME, "email": EMAIL},
    )
    vid = welcome["visitor_id"]
    saved = await visitor.request(
        {"type": "offline_message", "name": NAME, "email": EMAIL, "text": "offline-note-5530"}
    )
    assert saved["type"] == "offline_message_saved", saved
    await visitor.send({"type": "cart", "value": 120.5, "currency": "EUR", "items": 2})
    await visitor.send(
        {
            "type": "track",
            "event": "conversion",
            "props": {"value": 120.5, "currency": "EUR", "order_id": "ord-991-maja"},
        }
    )
    agent, _ = await chat.agent_socket()
    invited = await agent.request(
        {"type": "invite", "visitor_id": vid, "text": "invite-for-maja-61"}
    )
    assert invited["type"] != "error", invited
    first = await visitor.request({"type": "chat_start", "text": "I live at Ilica-street-17"})
    assert first["type"] == "conversation", first
    # The first message is stored after the conversation frame: closed before that, it
    # would be refused.
    await visitor.expect(lambda f: f.get("conversation_id") == first["id"] and f.get("seq") == 1)
    async with httpx.AsyncClient(base_url=visitor_node, timeout=30) as client:
        uploaded = await client.put(
            f"/api/v1/conversations/{first['id']}/attachments/r1?name=receipt-maja-3321.pdf",
            content=b"%PDF-1.4\n%%EOF\n",
            headers={"X-Visitor-Token": welcome["visitor_token"]},
        )
        assert uploaded.status_code == 201, uploaded.text
    sent = await visitor.request(
        {
            "type": "message",
            "conversation_id": first["id"],
            "client_msg_id": "with-file",
            "text": "my receipt",
            "attachments": [uploaded.json()["attachment"]["id"]],
        }
    )
    assert sent["type"] == "message", sent
    accepted = await agent.request({"type": "accept", "conversation_id": first["id"]})
    assert accepted["type"] != "error", accepted
    await agent.request({"type": "close", "conversation_id": first["id"]})
    await visitor.expect("closed")
    survey = await visitor.request(
        {
            "type": "survey",
            "conversation_id": first["id"],
            "kind": "csat",
            "score": 5,
            "comment": "survey-comment-7731",
        }
    )
    assert survey["type"] == "survey_saved", survey
    second = await visitor.request({"type": "chat_start", "text": "second-chat-8812"})
    assert second["type"] == "conversation", second
    await visitor.expect(lambda f: f.get("conversation_id") == second["id"] and f.get("seq") == 1)
    await agent.close()
    # The webhooks hold the person too (message bodies, the closed transcript).
    await receiver.wait_for(lambda got: any(b"survey-comment-7731" in r.body for r in got))
    return visitor, vid, welcome["visitor_token"]


async def store_dump(url: str) -> dict[str, list[str]]:
    """Every row of every table in the metadata (and SQLite's full-text index), as text;
    the `visitor.erased` delivery (which names the id on purpose) left out."""
    db = open_database(url)
    dump: dict[str, list[str]] = {}
    try:
        async with db.read() as conn:
            for table in metadata.sorted_tables:
                query = select(table)
                if table.name == "webhook_outbox":
                    query = query.where(table.c.event != "visitor.erased")
                rows = (await conn.execute(query)).mappings()
                dump[table.name] = [repr(dict(r)) for r in rows]
            if conn.dialect.name == "sqlite":
                # The FTS5 index itself: a search for a word of an erased message.
                found = await conn.execute(
                    text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'Ilica'")
                )
                dump["messages_fts"] = [repr(r) for r in found]
    finally:
        await db.close()
    return dump


async def redis_dump(prefix: str) -> dict[str, str]:
    """Every key under the test's prefix, with its whole value, as text."""
    client = aioredis.Redis.from_url(REDIS_URL)
    dump: dict[str, str] = {}
    try:
        async for raw_key in client.scan_iter(match=prefix + "*", count=1000):
            key = raw_key.decode()
            kind = (await client.type(raw_key)).decode()
            if kind == "string":
                value: Any = await client.get(raw_key)
            elif kind == "hash":
                value = await client.hgetall(raw_key)
            elif kind == "set":
                value = await client.smembers(raw_key)
            elif kind == "zset":
                value = await client.zrange(raw_key, 0, -1, withscores=True)
            elif kind == "list":
                value = await client.lrange(raw_key, 0, -1)
            elif kind == "stream":
                value = await client.xrange(raw_key)
            else:
                value = kind
            dump[key] = repr(value)
    finally:
        await client.aclose()
    return dump


def traces_in(dump: dict[str, Any], needles: list[str]) -> dict[str, list[str]]:
    """needle -> the tables/keys whose text contains it (escaped or not)."""
    found: dict[str, list[str]] = {}
    for name, content in dump.items():
        blob = name + repr(content)
        for needle in needles:
            if needle in blob or needle.encode().hex() in blob:
                found.setdefault(needle, []).append(name)
    return found


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_export_then_erase_leaves_nothing_of_the_visitor(
    store, tmp_path, redis_prefix
) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver()
    await receiver.start()
    async with nodes(store, tmp_path, redis_prefix) as processes:
        chat = await make_chat_site(processes[0])
        visitor_node = processes[-1].url  # PostgreSQL: another node than the erasing one
        visitor, vid, token = await leave_traces(chat, visitor_node, receiver)
        needles = [vid, *TRACES]
        site = chat.site["id"]
        database = processes[0].env["BECKON_DATABASE_URL"]

        async with api(chat) as admin:
            # Access: by email, by external id and by visitor id, the same person.
            async def export() -> httpx.Response:
                return await admin.post(
                    f"/api/v1/sites/{site}/privacy/export", json={"email": EMAIL.upper()}
                )

            # Visit events are written in batches: wait until the export has them.
            exported = await wait_until(
                export,
                lambda r: (
                    r.status_code == 200
                    and len(r.json()["records"]["visit_events"]) >= 2
                    and len(r.json()["records"]["decision_changes"]) >= 1
                ),
                10,
                "the visit events in the export",
            )
            doc = exported.json()
            assert doc["format"] == "beckon.visitor-export/1"
            assert doc["subject"] == {"email": EMAIL.upper()}
            got = doc["records"]
            assert [v["id"] for v in got["visitors"]] == [vid]
            assert (got["visitors"][0]["name"], got["visitors"][0]["user_id"]) == (NAME, USER_ID)
            assert len(got["conversations"]) == 2
            texts = [m["text"] for m in got["messages"]]
            assert "I live at Ilica-street-17" in texts and "second-chat-8812" in texts
            assert [a["name"] for a in got["attachments"]] == ["receipt-maja-3321.pdf"]
            assert [(s["kind"], s["score"], s["comment"]) for s in got["surveys"]] == [
                ("csat", 5, "survey-comment-7731")
            ]
            assert [o["text"] for o in got["offline_messages"]] == ["offline-note-5530"]
            assert [c["order_id"] for c in got["conversions"]] == ["ord-991-maja"]
            assert "invite-for-maja-61" in [i["text"] for i in got["invitations"]]
            assert {e["type"] for e in got["visit_events"]} >= {"hello", "cart"}
            first_change = got["decision_changes"][0]
            assert (first_change["outcome"], first_change["detail"]) == (
                "blocked",
                "schedule_closed",
            )
            assert [s["visitor_id"] for s in got["live_state"]] == [vid]
            for subject in ({"user_id": USER_ID}, {"visitor_id": vid}):
                same = await admin.post(f"/api/v1/sites/{site}/privacy/export", json=subject)
                assert same.status_code == 200, same.text
                assert same.json()["records"]["visitors"] == got["visitors"]

            # The probe sees every trace before the erasure (so it can fail after).
            before = traces_in(await store_dump(database), needles)
            assert set(before) == set(needles), set(needles) - set(before)
            assert "decision_changes" in before[vid]
            assert vid in traces_in(await redis_dump(redis_prefix), [vid])
            search = await admin.get(f"/api/v1/sites/{site}/conversations", params={"q": "Ilica"})
            assert len(search.json()["items"]) == 1

            erased = await admin.post(
                f"/api/v1/sites/{site}/privacy/erase", json={"user_id": USER_ID}
            )
            assert erased.status_code == 200, erased.text
            body = erased.json()
            assert (body["visitor_ids"], body["conversations"]) == ([vid], 2)
            assert body["sockets_notified"] is True
            assert body["deleted"]["visitors"] == 1
            assert body["deleted"]["offline_messages"] == 1
            assert body["deleted"]["survey_comments"] == 1
            assert body["deleted"]["messages"] == 3
            assert body["deleted"]["attachments"] == 1
            assert body["deleted"]["decision_changes"] >= 1

            # Their socket (on the other node, on PostgreSQL) is closed for good.
            assert await visitor.closed() == (4403, "visitor erased")

            # Webhooks: `visitor.erased` with the id only.
            got_hooks = await receiver.wait_for(
                lambda reqs: any(b'"visitor.erased"' in r.body for r in reqs)
            )
            note = next(orjson.loads(r.body) for r in got_hooks if b'"visitor.erased"' in r.body)
            assert note["data"] == {"site_id": site, "visitor_id": vid}

            # Nothing of them anywhere: every table, the search index, every Redis key.
            async def leftovers() -> dict[str, list[str]]:
                return {
                    **traces_in(await store_dump(database), needles),
                    **{
                        f"redis:{k}": v
                        for k, v in traces_in(await redis_dump(redis_prefix), needles).items()
                    },
                }

            await wait_until(leftovers, lambda left: left == {}, 10, "no trace of the visitor")

            # A page load with the erased visitor's token starts a new visitor: the id
            # does not come back.
            again_visitor, again = await chat.visitor(visitor_node, visitor_token=token)
            assert again["visitor_id"] != vid
            assert again_visitor.frames[0] == {
                "type": "error",
                "code": "unauthorized",
                "message": "visitor_token is not valid; continuing as a new visitor",
                "ref": "hello",
            }
            await again_visitor.close()
            assert await leftovers() == {}
            search = await admin.get(f"/api/v1/sites/{site}/conversations", params={"q": "Ilica"})
            assert search.json()["items"] == []

            # Reports keep the counts: both chats are still counted, without the person.
            report = await admin.get(f"/api/v1/sites/{site}/reports/summary")
            assert report.status_code == 200, report.text
            totals = report.json()["totals"]
            assert (totals["chats"], totals["answered"], totals["csat_pct"]) == (2, 1, 100.0)

            again = await admin.post(
                f"/api/v1/sites/{site}/privacy/erase", json={"visitor_id": vid}
            )
            assert again.status_code == 404
            assert again.json()["error"] == {
                "code": "not_found",
                "message": f"Beckon holds no records of visitor {vid} on this site",
            }
    await receiver.stop()
