"""The inbox on SQLite and PostgreSQL: one item per conversation whatever the order of
the events, the answer appended to a closed chat, the `inbox.reply` hook's exact data
(what email delivery listens to), and `seen_seq` that never goes back or past the
last answer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import insert, select

from server.chat.inbox import InboxRecorder
from server.events import EventBus
from server.hub import follow_up
from server.store import inbox as queries
from server.store.database import Database
from server.store.tables import conversations, inbox_items, messages, users
from tests.store.test_schema import _seed


class _Hub:
    """Records what would be published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, Any]] = []

    async def publish(self, channel: str, kind: str, payload: Any) -> bool:
        self.published.append((channel, kind, payload))
        return True

    async def publish_detached(self, channel: str, kind: str, payload: Any) -> None:
        self.published.append((channel, kind, payload))


async def _closed_chat(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(users).values(
                id="us_1",
                email="ana@example.com",
                password_hash="x",
                role="agent",
                display_name="Ana",
                capacity=3,
                departments=[],
                created_ts=1,
            )
        )
        await conn.execute(
            insert(conversations).values(
                id="cv_1",
                site_id="st_1",
                visitor_id="vi_1",
                status="closed",
                department="sales",
                last_seq=1,
                created_ts=5,
                closed_by="system",
                missed_reason="no_agent",
            )
        )
        await conn.execute(
            insert(messages).values(
                id="ms_1",
                conversation_id="cv_1",
                seq=1,
                author_kind="visitor",
                text="Anyone?",
                ts=5,
            )
        )


async def test_a_missed_chat_that_became_an_offline_message_is_one_item(db: Database) -> None:
    await _seed(db)
    await _closed_chat(db)
    recorder = InboxRecorder(db)
    offline = {
        "id": "om_1",
        "site_id": "st_1",
        "visitor_id": "vi_1",
        "conversation_id": "cv_1",
        "name": "Eva",
        "email": "eva@example.com",
        "text": "Anyone?",
        "created_ts": 6,
    }
    # The janitor emits the offline message first, then the missed chat.
    await recorder.on_event("offline_message.created", offline)
    await recorder.on_event("conversation.missed", {"conversation_id": "cv_1", "site_id": "st_1"})
    await recorder.on_event(
        "conversation.closed", {"conversation_id": "cv_1", "site_id": "st_1", "by": "system"}
    )
    async with db.read() as conn:
        rows = [dict(r) for r in (await conn.execute(select(inbox_items))).mappings()]
    assert [(r["kind"], r["conversation_id"], r["email"], r["department"]) for r in rows] == [
        ("offline_message", "cv_1", "eva@example.com", "sales")
    ]


async def test_an_answer_goes_into_the_closed_chat_and_emits_inbox_reply(db: Database) -> None:
    await _seed(db)
    await _closed_chat(db)
    await InboxRecorder(db).on_event(
        "conversation.missed", {"conversation_id": "cv_1", "site_id": "st_1"}
    )
    async with db.read() as conn:
        (item,) = await queries.list_items(
            conn,
            "st_1",
            status="new",
            department=None,
            agent_id=None,
            kind="missed",
            text=None,
            after=None,
            limit=10,
        )
    events = EventBus()
    heard: list[tuple[str, dict[str, Any]]] = []
    done = asyncio.Event()

    async def listener(kind: str, data: dict[str, Any]) -> None:
        heard.append((kind, data))
        done.set()

    events.on("inbox.reply", listener)
    hub = _Hub()
    agent = {"id": "us_1", "display_name": "Ana"}
    stored, row = await follow_up.reply(db, hub, events, item["id"], agent, "Yes, we are here")  # type: ignore[arg-type]
    await asyncio.wait_for(done.wait(), 5)
    assert (row["seq"], stored["status"], stored["agent_id"], stored["reply_seq"]) == (
        2,
        "waiting",
        "us_1",
        2,
    )
    ((kind, data),) = heard
    assert kind == "inbox.reply"
    assert set(data) == {"site_id", "item", "conversation_id", "message"}
    assert (data["site_id"], data["conversation_id"]) == ("st_1", "cv_1")
    assert data["item"]["id"] == item["id"] and data["item"]["status"] == "waiting"
    assert data["message"] == {
        "type": "message",
        "conversation_id": "cv_1",
        "id": row["id"],
        "seq": 2,
        "author": {"kind": "agent", "name": "Ana", "id": "us_1"},
        "text": "Yes, we are here",
        "ts": row["ts"],
    }
    assert [(c, k) for c, k, _ in hub.published] == [
        ("conv:cv_1", "message"),
        ("visitor:vi_1", "follow_up"),
    ]
    async with db.read() as conn:
        conv = (
            (await conn.execute(select(conversations).where(conversations.c.id == "cv_1")))
            .mappings()
            .one()
        )
    assert (conv["status"], conv["last_seq"]) == ("closed", 2)
    # Seen: clamped to the last answer, never lowered; another visitor's is refused.
    frames = await follow_up.unread_frames(db, "vi_1")
    assert [(f["conversation_id"], f["unread"]) for f in frames] == [("cv_1", 1)]
    assert await follow_up.seen(db, "vi_1", "cv_1", 99) is True
    assert await follow_up.seen(db, "vi_1", "cv_1", 1) is True
    assert await follow_up.seen(db, "vi_2", "cv_1", 2) is False
    async with db.read() as conn:
        assert (await queries.get_item(conn, item["id"]))["seen_seq"] == 2  # type: ignore[index]
    assert await follow_up.unread_frames(db, "vi_1") == []
    await events.drain()


async def test_an_unknown_item_is_refused(db: Database) -> None:
    await _seed(db)
    with pytest.raises(KeyError) as refused:
        await follow_up.reply(
            db,
            _Hub(),  # type: ignore[arg-type]
            EventBus(),
            "ib_none",
            {"id": "x", "display_name": "A"},
            "t",
        )
    assert refused.value.args == ("ib_none",)
