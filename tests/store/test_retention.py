"""Retention per site with a moved clock, on SQLite and PostgreSQL:
rows are seeded at known ages, the sweep runs at a chosen `now`, and the test checks
what is gone and what stays — in batches no larger than asked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.media.local_storage import LocalStorage
from server.media.uploads import Media, object_key
from server.privacy.retention import RetentionSweeper
from server.privacy.retention_policy import DAY_MS, Defaults, cutoffs, days_for
from server.store.attachments import attachments
from server.store.database import Database
from server.store.tables import (
    conversations,
    invitations,
    messages,
    offline_messages,
    sites,
    surveys,
    visit_events,
    visitors,
    webhook_outbox,
    webhooks,
)

NOW = 1_900_000_000_000  # the moved clock: 2030-03-17


def ago(days: float) -> int:
    return int(NOW - days * DAY_MS)


async def seed_files(db: Database, storage: LocalStorage, site_id: str) -> None:
    """An image (with its thumbnail) uploaded 100 days ago and one 5 days ago, stored."""
    for age in (100, 5):
        row = {
            "id": f"at_{site_id}_{age}",
            "site_id": site_id,
            "conversation_id": f"c_{site_id}_{age}",
            "sender": f"v:vi_{site_id}",
            "upload_id": f"u{age}",
            "name": "photo.png",
            "mime": "image/png",
            "size": 3,
            "width": 1,
            "height": 1,
            "has_thumb": True,
            "message_id": f"m_c_{site_id}_{age}_1",
            "created_ts": ago(age + 1),
        }
        async with db.write() as conn:
            await conn.execute(attachments.insert().values(**row))
        for variant in ("original", "thumb"):
            await storage.put(object_key(row, variant), b"png", "image/png")


async def seed_site(db: Database, site_id: str, settings: dict[str, Any]) -> None:
    """A site with, for each kind, one record 100 days old and one 5 days old."""
    async with db.write() as conn:
        await conn.execute(
            sites.insert().values(
                id=site_id,
                key=f"key-{site_id}",
                name=site_id,
                allowed_origins=[],
                identity_secret="x" * 64,
                timezone="UTC",
                default_lang="en",
                widget={},
                departments=[],
                settings=settings,
                created_ts=ago(400),
            )
        )
        vid = f"vi_{site_id}"
        await conn.execute(
            visitors.insert().values(
                id=vid, site_id=site_id, attributes={}, first_seen_ts=ago(200), last_seen_ts=NOW
            )
        )
        for age, status in ((100, "closed"), (5, "closed"), (150, "active")):
            cid = f"c_{site_id}_{age}"
            closed = status == "closed"
            await conn.execute(
                conversations.insert().values(
                    id=cid,
                    site_id=site_id,
                    visitor_id=vid,
                    status=status,
                    created_ts=ago(age + 1),
                    closed_ts=ago(age) if closed else None,
                    last_seq=3,
                )
            )
            await conn.execute(
                messages.insert(),
                [
                    {
                        "id": f"m_{cid}_{seq}",
                        "conversation_id": cid,
                        "seq": seq,
                        "author_kind": "visitor",
                        "text": f"text {seq}",
                        "ts": ago(age + 1),
                    }
                    for seq in (1, 2, 3)
                ],
            )
            if closed:
                await conn.execute(
                    surveys.insert().values(
                        id=f"s_{cid}",
                        conversation_id=cid,
                        site_id=site_id,
                        kind="csat",
                        score=4,
                        comment="kind words",
                        created_ts=ago(age),
                    )
                )
        await conn.execute(
            webhooks.insert().values(
                id=f"w_{site_id}",
                site_id=site_id,
                url="https://crm.example.com/hook",
                events=["conversation.closed"],
                secret="whsec_x",
                created_ts=ago(400),
            )
        )
        for age, status in ((100, "delivered"), (100, "pending"), (5, "delivered")):
            await conn.execute(
                webhook_outbox.insert().values(
                    id=f"d_{site_id}_{age}_{status}",
                    webhook_id=f"w_{site_id}",
                    site_id=site_id,
                    event="conversation.closed",
                    event_id=f"ev_{age}_{status}",
                    body="{}",
                    status=status,
                    next_attempt_ts=ago(age),
                    created_ts=ago(age),
                )
            )
        for age in (100, 5):
            await conn.execute(
                visit_events.insert(),
                [
                    {
                        "site_id": site_id,
                        "visitor_id": vid,
                        "ts": ago(age),
                        "type": "page_view",
                        "data": {},
                    }
                    for _ in range(3)
                ],
            )
            await conn.execute(
                invitations.insert().values(
                    id=f"i_{site_id}_{age}",
                    site_id=site_id,
                    visitor_id=vid,
                    status="shown",
                    created_ts=ago(age),
                )
            )
            await conn.execute(
                offline_messages.insert().values(
                    id=f"o_{site_id}_{age}",
                    site_id=site_id,
                    email="a@example.com",
                    text="call me",
                    created_ts=ago(age),
                )
            )


async def state(db: Database, site_id: str) -> dict[str, Any]:
    async with db.read() as conn:

        async def ids(query: Any) -> list[Any]:
            return sorted((r[0] for r in await conn.execute(query)), key=repr)

        convs = select(conversations.c.id).where(conversations.c.site_id == site_id)
        return {
            "conversations": await ids(convs),
            "messages": await ids(
                select(messages.c.conversation_id).where(messages.c.conversation_id.in_(convs))
            ),
            "survey_comments": await ids(
                select(surveys.c.comment).where(surveys.c.site_id == site_id)
            ),
            "survey_scores": await ids(select(surveys.c.score).where(surveys.c.site_id == site_id)),
            "visit_event_days": await ids(
                select((NOW - visit_events.c.ts) / DAY_MS).where(visit_events.c.site_id == site_id)
            ),
            "invitations": await ids(
                select(invitations.c.id).where(invitations.c.site_id == site_id)
            ),
            "offline_messages": await ids(
                select(offline_messages.c.id).where(offline_messages.c.site_id == site_id)
            ),
            "deliveries": await ids(
                select(webhook_outbox.c.id).where(webhook_outbox.c.site_id == site_id)
            ),
            "attachments": await ids(
                select(attachments.c.id).where(attachments.c.site_id == site_id)
            ),
        }


def test_the_policy_reads_days_forever_and_the_node_default() -> None:
    defaults = Defaults(transcripts=0, visits=30, decisions=0, offline_messages=90)
    assert days_for(None, defaults) == {
        "transcripts": None,
        "visits": 30,
        "decisions": None,
        "offline_messages": 90,
        "attachments": None,  # the default: forever
    }
    site = {
        "retention_transcripts_days": 7,
        "retention_visits_days": "forever",
        "retention_decisions_days": 400,
        "retention_offline_messages_days": None,
        "retention_attachments_days": 14,
    }
    assert days_for(site, defaults) == {
        "transcripts": 7,
        "visits": None,
        "decisions": 400,
        "offline_messages": 90,
        "attachments": 14,
    }
    assert cutoffs(site, defaults, NOW) == {
        "transcripts": NOW - 7 * DAY_MS,
        "visits": None,
        "decisions": NOW - 400 * DAY_MS,
        "offline_messages": NOW - 90 * DAY_MS,
        "attachments": NOW - 14 * DAY_MS,
    }


async def test_a_sweep_with_a_moved_clock_removes_only_what_is_past_retention(  # type: ignore[no-untyped-def]
    db: Database, tmp_path
) -> None:
    storage = LocalStorage(tmp_path / "media")
    await storage.open()
    await seed_site(
        db,
        "st_short",
        {
            "retention_transcripts_days": 30,
            "retention_visits_days": 30,
            "retention_decisions_days": 30,
            "retention_offline_messages_days": 30,
            "retention_attachments_days": 30,
        },
    )
    await seed_site(
        db,
        "st_forever",
        {
            "retention_transcripts_days": "forever",
            "retention_visits_days": "forever",
            "retention_decisions_days": "forever",
            "retention_offline_messages_days": "forever",
            "retention_attachments_days": "forever",
        },
    )
    await seed_site(db, "st_default", {})  # the node defaults: visits 60 days, else forever
    for site_id in ("st_short", "st_forever", "st_default"):
        await seed_files(db, storage, site_id)
    before = await state(db, "st_forever")
    files = Media(storage, db, settings=None)  # type: ignore[arg-type]  # (only its bytes)
    sweeper = RetentionSweeper(db, Defaults(visits=60), batch=2, max_batches=1, files=files)

    # Bounded: one statement of at most 2 rows per kind and site per sweep; sweeps are
    # repeated (as the janitor does, next tick) until nothing is left to do.
    sweeps = []
    while True:
        swept = await sweeper.sweep(NOW)
        sweeps.append(swept.removed)
        assert all(n <= 2 * 3 for n in swept.removed.values())  # ≤ batch × sites
        if not swept.more:
            break
    assert len(sweeps) >= 2, sweeps  # 3 old messages and 3 old events: not in one batch
    total = {k: sum(s[k] for s in sweeps) for k in sweeps[0]}
    # short: 3 messages and 1 sent delivery, 3 events, 1 invitation, 1 offline message,
    # 1 attachment; default: 3 events
    assert total == {
        "transcripts": 4,
        "visits": 6,
        "decisions": 1,
        "offline_messages": 1,
        "attachments": 1,
    }

    short = await state(db, "st_short")
    assert short == {
        # The conversation rows stay (reports count them); only old transcripts go.
        "conversations": ["c_st_short_100", "c_st_short_150", "c_st_short_5"],
        # The chat closed 100 days ago lost its messages; the one closed 5 days ago and
        # the one still open (started 150 days ago) keep theirs.
        "messages": ["c_st_short_150"] * 3 + ["c_st_short_5"] * 3,
        "survey_comments": ["kind words", None],
        "survey_scores": [4, 4],
        "visit_event_days": [5, 5, 5],
        "invitations": ["i_st_short_5"],
        "offline_messages": ["o_st_short_5"],
        # A delivery still pending is never dropped; a sent one goes with transcripts.
        "deliveries": ["d_st_short_100_pending", "d_st_short_5_delivered"],
        "attachments": ["at_st_short_5"],
    }
    # The old file's bytes went with its row (original and thumbnail); the others stay.
    assert [k for k in await storage.keys("st_short/")] == [
        "st_short/at_st_short_5/original",
        "st_short/at_st_short_5/thumb",
    ]
    assert len(await storage.keys("st_forever/")) == len(await storage.keys("st_default/")) == 4
    assert await state(db, "st_forever") == before
    default = await state(db, "st_default")
    assert default["visit_event_days"] == [5, 5, 5]  # the node default: 60 days
    assert default["invitations"] == ["i_st_default_100", "i_st_default_5"]  # forever
    assert len(default["messages"]) == 9  # transcripts: forever by default
    assert default["offline_messages"] == ["o_st_default_100", "o_st_default_5"]
    assert default["attachments"] == ["at_st_default_100", "at_st_default_5"]  # forever

    # The clock moves on 30 more days: the 5-day-old records are now 35 days old.
    later = NOW + 30 * DAY_MS
    while (await sweeper.sweep(later)).more:
        pass
    short = await state(db, "st_short")
    assert short["messages"] == ["c_st_short_150"] * 3
    assert (short["visit_event_days"], short["invitations"], short["offline_messages"]) == (
        [],
        [],
        [],
    )
    assert short["attachments"] == [] and await storage.keys("st_short/") == []
    assert await state(db, "st_forever") == before
