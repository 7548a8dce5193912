"""Retention per site, enforced in bounded batches (run by the janitor, any store).

Each kind deletes at most `batch` rows per statement, each statement its own short
transaction, and at most `max_batches` statements per kind and site per sweep: a
backlog (a site that just shortened its retention) is worked off over several sweeps
instead of holding the database in one long delete. What each kind removes:

- transcripts: the messages of conversations closed before the cutoff (the full-text
  index follows them), their survey comments, and webhook deliveries sent (or given
  up) before the cutoff; the conversation rows and survey scores stay for reports;
- visits: visit events older than the cutoff (the backtests' input), and decisions
  over time (each change in a visitor's outcome for a rule) older than it;
- decisions: invitations (triggered, held out, shown, answered) older than the cutoff —
  rule stats and uplift over an older window lose them;
- offline_messages: offline messages older than the cutoff;
- attachments: files uploaded before the cutoff — their stored objects (local disk or
  S3) first, then their rows, so a storage that cannot be reached keeps both for the
  next sweep; the messages that carried them stay (their files show as gone).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import delete, select, update

from server.media.storage import MediaUnavailable
from server.privacy.retention_policy import KINDS, Defaults, cutoffs
from server.store.attachments import attachments
from server.store.database import Database
from server.store.decision_tables import decision_changes
from server.store.tables import (
    conversations,
    invitations,
    messages,
    offline_messages,
    sites,
    surveys,
    visit_events,
    webhook_attempts,
    webhook_outbox,
)

log = logging.getLogger("beckon.retention")
# Statements per kind and site in one sweep; past it the janitor sweeps again next tick.
MAX_BATCHES_PER_SWEEP = 10


class FileStore(Protocol):
    async def remove_objects(self, row: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class Swept:
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    more: bool = False  # some kind hit `max_batches`: sweep again soon


class RetentionSweeper:
    def __init__(
        self,
        db: Database,
        defaults: Defaults,
        batch: int,
        max_batches: int = MAX_BATCHES_PER_SWEEP,
        files: FileStore | None = None,
    ) -> None:
        self.db = db
        self.defaults = defaults
        self.batch = batch
        self.max_batches = max_batches
        # Where attachments' bytes live (server/media/uploads.py `Media`); without it the
        # attachments kind is not swept (rows are never deleted without their bytes).
        self.files = files

    async def sweep(self, now_ms: int) -> Swept:
        """One round over every site at time `now_ms` (the caller's clock)."""
        async with self.db.read() as conn:
            rows = [(r[0], r[1]) for r in await conn.execute(select(sites.c.id, sites.c.settings))]
        swept = Swept()
        for site_id, settings in rows:
            for kind, cutoff in cutoffs(settings, self.defaults, now_ms).items():
                if cutoff is None:
                    continue
                removed, more = await self._kind(kind, site_id, cutoff)
                swept.removed[kind] += removed
                swept.more |= more
        if any(swept.removed.values()):
            log.info("retention removed %s", swept.removed)
        return swept

    async def _kind(self, kind: str, site_id: str, cutoff: int) -> tuple[int, bool]:
        removed = 0
        for _ in range(self.max_batches):
            count, full = await _BATCHES[kind](self, site_id, cutoff)
            removed += count
            if not full:
                return removed, False
        return removed, True

    # Each batch answers (rows removed, whether a statement hit `batch`: maybe more).
    async def _transcripts(self, site_id: str, cutoff: int) -> tuple[int, bool]:
        old = select(conversations.c.id).where(
            conversations.c.site_id == site_id,
            conversations.c.status == "closed",
            conversations.c.closed_ts < cutoff,
        )
        ids = select(messages.c.id).where(messages.c.conversation_id.in_(old)).limit(self.batch)
        # Webhook bodies carry transcripts too: sent (or given up) ones go with them.
        sent = (
            select(webhook_outbox.c.id)
            .where(
                webhook_outbox.c.site_id == site_id,
                webhook_outbox.c.status != "pending",
                webhook_outbox.c.created_ts < cutoff,
            )
            .limit(self.batch)
        )
        async with self.db.write() as conn:
            result = await conn.execute(delete(messages).where(messages.c.id.in_(ids)))
            await conn.execute(
                update(surveys)
                .where(surveys.c.conversation_id.in_(old), surveys.c.comment.is_not(None))
                .values(comment=None)
            )
            deliveries = [r[0] for r in await conn.execute(sent)]
            if deliveries:
                await conn.execute(
                    delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(deliveries))
                )
                await conn.execute(
                    delete(webhook_outbox).where(webhook_outbox.c.id.in_(deliveries))
                )
        counts = (result.rowcount or 0, len(deliveries))
        return sum(counts), max(counts) >= self.batch

    async def _visits(self, site_id: str, cutoff: int) -> tuple[int, bool]:
        old = (
            select(visit_events.c.id)
            .where(visit_events.c.site_id == site_id, visit_events.c.ts < cutoff)
            .limit(self.batch)
        )
        changes = (
            select(decision_changes.c.id)
            .where(decision_changes.c.site_id == site_id, decision_changes.c.ts < cutoff)
            .limit(self.batch)
        )
        async with self.db.write() as conn:
            result = await conn.execute(delete(visit_events).where(visit_events.c.id.in_(old)))
            swept = await conn.execute(
                delete(decision_changes).where(decision_changes.c.id.in_(changes))
            )
        counts = (result.rowcount or 0, swept.rowcount or 0)
        return sum(counts), max(counts) >= self.batch

    async def _decisions(self, site_id: str, cutoff: int) -> tuple[int, bool]:
        old = (
            select(invitations.c.id)
            .where(invitations.c.site_id == site_id, invitations.c.created_ts < cutoff)
            .limit(self.batch)
        )
        async with self.db.write() as conn:
            result = await conn.execute(delete(invitations).where(invitations.c.id.in_(old)))
        count = result.rowcount or 0
        return count, count >= self.batch

    async def _offline(self, site_id: str, cutoff: int) -> tuple[int, bool]:
        old = (
            select(offline_messages.c.id)
            .where(offline_messages.c.site_id == site_id, offline_messages.c.created_ts < cutoff)
            .limit(self.batch)
        )
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(offline_messages).where(offline_messages.c.id.in_(old))
            )
        count = result.rowcount or 0
        return count, count >= self.batch

    async def _attachments(self, site_id: str, cutoff: int) -> tuple[int, bool]:
        if self.files is None:
            return 0, False
        old = (
            select(attachments)
            .where(attachments.c.site_id == site_id, attachments.c.created_ts < cutoff)
            .order_by(attachments.c.created_ts)
            .limit(self.batch)
        )
        async with self.db.read() as conn:
            rows = [dict(r) for r in (await conn.execute(old)).mappings()]
        done = []
        for row in rows:
            try:
                await self.files.remove_objects(row)
            except MediaUnavailable as exc:
                log.warning("retention: attachment %s kept for now: %s", row["id"], exc)
                break
            done.append(row["id"])
        if not done:
            return 0, False
        async with self.db.write() as conn:
            result = await conn.execute(delete(attachments).where(attachments.c.id.in_(done)))
        count = result.rowcount or 0
        return count, len(done) >= self.batch


_BATCHES: dict[str, Any] = {
    "transcripts": RetentionSweeper._transcripts,
    "visits": RetentionSweeper._visits,
    "decisions": RetentionSweeper._decisions,
    "offline_messages": RetentionSweeper._offline,
    "attachments": RetentionSweeper._attachments,
}
