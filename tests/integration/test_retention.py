"""Retention per site on a running server: the settings are validated
and shown by the sites API, and the node's janitor deletes what is past them (rows are
seeded with old timestamps: the clock, seen from the rows, has moved on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from server.ids import now_ms
from server.privacy.retention_policy import DAY_MS
from server.store.attachments import attachments
from server.store.database import open_database
from server.store.tables import conversations, messages, offline_messages, visit_events, visitors
from tests.beckon_process import running_node
from tests.waiting import wait_until


async def seed(url: str, site_id: str, media: Path | None = None) -> None:
    now = now_ms()
    db = open_database(url)
    try:
        async with db.write() as conn:
            await conn.execute(
                visitors.insert().values(
                    id="vi_old", site_id=site_id, attributes={}, first_seen_ts=0, last_seen_ts=0
                )
            )
            for age in (100, 1):
                cid = f"c_old_{age}"
                await conn.execute(
                    conversations.insert().values(
                        id=cid,
                        site_id=site_id,
                        visitor_id="vi_old",
                        status="closed",
                        created_ts=now - age * DAY_MS,
                        closed_ts=now - age * DAY_MS,
                        last_seq=1,
                    )
                )
                await conn.execute(
                    messages.insert().values(
                        id=f"m_{age}",
                        conversation_id=cid,
                        seq=1,
                        author_kind="visitor",
                        text="hello",
                        ts=now - age * DAY_MS,
                    )
                )
                await conn.execute(
                    visit_events.insert().values(
                        site_id=site_id,
                        visitor_id="vi_old",
                        ts=now - age * DAY_MS,
                        type="page_view",
                        data={},
                    )
                )
                await conn.execute(
                    offline_messages.insert().values(
                        id=f"o_{age}",
                        site_id=site_id,
                        email="a@example.com",
                        text="call me",
                        created_ts=now - age * DAY_MS,
                    )
                )
                if media is not None:
                    await conn.execute(
                        attachments.insert().values(
                            id=f"at_{age}",
                            site_id=site_id,
                            conversation_id=cid,
                            sender="v:vi_old",
                            upload_id=f"u{age}",
                            name="a.pdf",
                            mime="application/pdf",
                            size=3,
                            has_thumb=False,
                            message_id=f"m_{age}",
                            created_ts=now - age * DAY_MS,
                        )
                    )
                    stored = media / site_id / f"at_{age}" / "original"
                    stored.parent.mkdir(parents=True)
                    stored.write_bytes(b"pdf")
    finally:
        await db.close()


async def counts(url: str) -> dict[str, int]:
    db = open_database(url)
    try:
        async with db.read() as conn:
            out = {}
            for table in (messages, visit_events, offline_messages, conversations, attachments):
                out[table.name] = (
                    await conn.execute(select(func.count()).select_from(table))
                ).scalar_one()
            return out
    finally:
        await db.close()


async def test_the_janitor_enforces_each_sites_retention(tmp_path) -> None:  # type: ignore[no-untyped-def]
    media = tmp_path / "files"
    env = {
        "BECKON_RETENTION_SWEEP_S": "1",
        "BECKON_VISIT_RETENTION_DAYS": "3650",
        "BECKON_MEDIA_DIR": str(media),
    }
    async with running_node(tmp_path, env=env) as node:
        admin, csrf = await node.login()
        async with admin:
            headers = {"X-CSRF-Token": csrf}
            site = (await admin.post("/api/v1/sites", headers=headers, json={"name": "S"})).json()
            assert site["settings"]["retention_transcripts_days"] is None  # node default
            url = f"/api/v1/sites/{site['id']}"
            message = 'days from 1 to 3650, "forever", or null for the node\'s default'
            for bad in (0, 3651, "never", "30", 30.5, True):
                answer = await admin.patch(
                    url, headers=headers, json={"settings": {"retention_transcripts_days": bad}}
                )
                assert answer.status_code == 422, answer.text
                assert answer.json()["error"]["details"] == [
                    {"path": "settings.retention_transcripts_days", "message": message}
                ]
            patched = await admin.patch(
                url,
                headers=headers,
                json={
                    "settings": {
                        "retention_transcripts_days": 30,
                        "retention_visits_days": 30,
                        "retention_offline_messages_days": "forever",
                        "retention_attachments_days": 30,
                    }
                },
            )
            assert patched.status_code == 200, patched.text
            shown: dict[str, Any] = (await admin.get(url)).json()["settings"]
            assert (
                shown["retention_transcripts_days"],
                shown["retention_visits_days"],
                shown["retention_offline_messages_days"],
            ) == (30, 30, "forever")

        database = node.env["BECKON_DATABASE_URL"]
        await seed(database, site["id"], media)
        # The janitor's next sweep: the 100-day-old transcript and visit event go; the
        # 1-day-old ones, every offline message ("forever") and the conversation rows stay.
        left = await wait_until(
            lambda: counts(database),
            lambda c: c["messages"] == 1 and c["visit_events"] <= 1 and c["attachments"] == 1,
            15,
            "the janitor's retention sweep",
        )
        assert left["offline_messages"] == 2
        assert left["conversations"] == 2
        # The 100-day-old file's bytes went with its row; the 1-day-old one's stay.
        assert [p.parent.name for p in media.rglob("original")] == ["at_1"]
        async with httpx.AsyncClient(base_url=node.url, timeout=30) as client:
            assert (await client.get("/readyz")).status_code == 200
