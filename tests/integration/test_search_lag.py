"""Conversation search with the index off the ack path (server/search_indexer.py), on a
running node over SQLite and over two PostgreSQL nodes: a message is found by search
as soon as it is acked (not indexed yet) and still after the node's indexer has reached
it, which it does by itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from server.store.database import open_database
from tests.chat_setup import make_chat_site
from tests.integration.test_privacy_erase import api, nodes
from tests.waiting import wait_until

BEHIND = text(
    "SELECT count(*) FROM conversations c"
    " LEFT JOIN message_search_progress p ON p.conversation_id = c.id"
    " WHERE c.last_seq > COALESCE(p.indexed_seq, 0)"
)


async def _conversations_behind(url: str) -> int:
    db = open_database(url)
    try:
        async with db.read() as conn:
            return int((await conn.execute(BEHIND)).scalar_one())
    finally:
        await db.close()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_a_message_is_found_from_its_ack_on(store, tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with nodes(store, tmp_path, redis_prefix) as processes:
        chat = await make_chat_site(processes[0])
        # PostgreSQL: the message is written on one node and searched on the other.
        visitor, _ = await chat.visitor(processes[-1].url)
        conv = await visitor.request({"type": "chat_start", "text": "hello there"})
        words = [f"zebra{n}q" for n in range(5)]
        async with api(chat, processes[0].url) as admin:
            path = f"/api/v1/sites/{chat.site['id']}/conversations"

            async def found(word: str) -> list[str]:
                answer = await admin.get(path, params={"q": word})
                assert answer.status_code == 200
                return [c["id"] for c in answer.json()["items"]]

            for n, word in enumerate(words):
                frame = {
                    "type": "message",
                    "conversation_id": conv["id"],
                    "client_msg_id": f"s{n}",
                    "text": f"where is my {word.upper()}?",
                }
                ack = await visitor.request(frame)
                assert ack["type"] != "error", ack
                assert await found(word) == [conv["id"]]
            database = processes[0].env["BECKON_DATABASE_URL"]
            await wait_until(
                lambda: _conversations_behind(database),
                lambda behind: behind == 0,
                15,
                "every message indexed",
            )
            for word in words:
                assert await found(word) == [conv["id"]]
            assert await found("hello") == [conv["id"]]
            assert await found("zebra9q") == []
        await visitor.close()
