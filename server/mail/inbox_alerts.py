"""Email for agents who opted in: what is new in the inbox, at most one email per agent
per BECKON_MAIL_INBOX_ALERT_S, everything new since the last one in it (a digest: how
many per site, not the visitors' words — see `digest`).

A sweep on every node, every few seconds: for each opted-in active agent whose last
digest is old enough, the items of their sites (every site for an admin) that became
`new` after their cursor — a new offline message, missed or unanswered chat, or one a
visitor's email reply reopened. If there are any, one conditional UPDATE moves the
cursor (so of two nodes sweeping at once, one writes the email) and the digest goes to
the mail outbox in the same transaction: sent durably, like every other email, and
counted against no visitor's or site's limit (it is the agent's own choice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from server.ids import new_id, now_ms
from server.mail import addresses
from server.mail.digest import MAX_LISTED, Digest, Entry, build_digest
from server.settings import Settings
from server.store import mail_outbox, mail_prefs
from server.store.database import Database
from server.store.sites import site_ids_of
from server.store.tables import inbox_items, sites

log = logging.getLogger("beckon.mail")


class InboxAlerts:
    def __init__(self, db: Database, settings: Settings, wake: Callable[[], None]) -> None:
        self.db = db
        self.settings = settings
        self._wake = wake
        self.period_s = min(30.0, settings.mail_inbox_alert_s / 4)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="beckon-inbox-alerts")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the database away for a moment: the next sweep retries
                log.exception("inbox alerts: sweep failed")
            await asyncio.sleep(self.period_s)

    async def sweep(self) -> int:
        """Write the digests that are due; returns how many."""
        now = now_ms()
        async with self.db.read() as conn:
            agents = await mail_prefs.due(conn, now - self.settings.mail_inbox_alert_s * 1000)
        written = 0
        for agent in agents:
            written += await self._one(agent, now)
        if written:
            self._wake()
        return written

    async def _one(self, agent: dict[str, Any], now: int) -> int:
        async with self.db.write() as conn:
            site_ids = (
                None if agent["role"] == "admin" else await site_ids_of(conn, agent["user_id"])
            )
            if site_ids == []:
                return 0
            t = inbox_items.c
            fresh = [t.status == "new", t.updated_ts > agent["cursor_ts"], t.updated_ts <= now]
            if site_ids is not None:
                fresh.append(t.site_id.in_(site_ids))
            query = (
                select(sites.c.name, func.count())
                .join_from(inbox_items, sites, sites.c.id == t.site_id)
                .where(*fresh)
                .group_by(sites.c.id, sites.c.name)
                .order_by(sites.c.name)
            )
            per_site = [(str(name), int(count)) for name, count in await conn.execute(query)]
            total = sum(count for _, count in per_site)
            if not total:
                return 0
            if not await mail_prefs.claim(conn, agent["user_id"], agent["cursor_ts"], now):
                return 0  # another node's sweep wrote this digest
            mail_id = new_id("ml")
            domain = addresses.domain_of(self.settings.mail_from)
            digest = Digest(
                lang=agent["lang"],
                sender=self.settings.mail_from,
                recipient=agent["email"],
                recipient_name=agent["display_name"],
                entries=[Entry(name, count) for name, count in per_site[:MAX_LISTED]],
                total=total,
                link=f"{self.settings.base_url}/agent/#inbox",
                message_id=f"<{mail_id}.inbox@{domain}>",
                date_ms=now,
            )
            try:
                body = build_digest(digest).as_bytes().decode("utf-8", "surrogateescape")
            except addresses.BadAddress:
                log.warning("inbox alert for user %s: unusable address", agent["user_id"])
                return 0
            await mail_outbox.enqueue(
                conn,
                {
                    "id": mail_id,
                    "site_id": None,
                    "conversation_id": None,
                    "visitor_id": None,
                    "kind": "inbox_digest",
                    "recipient": agent["email"],
                    "message_id": digest.message_id,
                    "body": body,
                    "created_ts": now,
                },
            )
        log.info("inbox alert for user %s: %d new items", agent["user_id"], total)
        return 1
