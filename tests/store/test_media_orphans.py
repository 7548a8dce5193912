"""The orphan sweep on SQLite and PostgreSQL: unreferenced uploads past the bound go,
with their bytes; referenced and recent ones stay."""

from __future__ import annotations

from sqlalchemy import insert

from server.media import open_media_storage
from server.media.janitor import MediaJanitor
from server.media.uploads import Media, object_key
from server.settings import load_settings
from server.store import attachments as queries
from server.store.database import Database
from server.store.tables import conversations, sites, visitors

HOUR_MS = 3_600_000


async def _seed(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(sites).values(
                id="st_1",
                key="sk_1",
                name="Shop",
                allowed_origins=[],
                identity_secret="s" * 64,
                timezone="UTC",
                default_lang="en",
                widget={},
                departments=[],
                business_hours=None,
                settings={},
                created_ts=1,
            )
        )
        await conn.execute(
            insert(visitors).values(
                id="vi_1", site_id="st_1", attributes={}, first_seen_ts=1, last_seen_ts=1
            )
        )
        await conn.execute(
            insert(conversations).values(
                id="cv_1",
                site_id="st_1",
                visitor_id="vi_1",
                status="queued",
                last_seq=0,
                created_ts=1,
            )
        )


def _row(attachment_id: str, created_ts: int, message_id: str | None) -> dict:
    return {
        "id": attachment_id,
        "site_id": "st_1",
        "conversation_id": "cv_1",
        "sender": "v:vi_1",
        "upload_id": attachment_id,
        "name": "a.pdf",
        "mime": "application/pdf",
        "size": 3,
        "width": None,
        "height": None,
        "has_thumb": False,
        "message_id": message_id,
        "created_ts": created_ts,
    }


async def test_sweep_removes_only_old_unreferenced_uploads(db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await _seed(db)
    settings = load_settings({"BECKON_SECRET_KEY": "k" * 40, "BECKON_MEDIA_ORPHAN_S": "3600"})
    storage = open_media_storage(f"file://{tmp_path}/media")
    await storage.open()
    media = Media(storage, db, settings)
    now = 100 * HOUR_MS
    rows = [
        _row("at_old", now - 2 * HOUR_MS, None),
        _row("at_sent", now - 2 * HOUR_MS, "ms_1"),
        _row("at_new", now - HOUR_MS // 2, None),
    ]
    async with db.write() as conn:
        for row in rows:
            await queries.insert_attachment(conn, row)
    for row in rows:
        await storage.put(object_key(row, "original"), b"pdf", row["mime"])

    assert await MediaJanitor(media).sweep(now) == 1
    assert await storage.keys("st_1/") == ["st_1/at_new/original", "st_1/at_sent/original"]
    async with db.read() as conn:
        assert await queries.get_attachment(conn, "at_old") is None
        assert await queries.get_attachment(conn, "at_sent") is not None
    assert await MediaJanitor(media).sweep(now) == 0
