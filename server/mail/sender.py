"""The mail worker: mail outbox → SMTP. One per node; the only module that talks SMTP.

Each pass claims due emails (a lease in one conditional UPDATE, so exactly one node
sends each attempt) and sends them one task each, at most `max_in_flight` at once.
A temporary failure (connection refused, timeout, 4xx) is retried after `retry_base_s ×
2^n` (at most `max_delay_s`) until `give_up_after_s` after the email was written; a
permanent refusal (5xx) fails the email at once. A node killed mid-send leaves its
lease to run out, and the email is sent by whichever node claims it next.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosmtplib

from server.broker.base import Broker
from server.chat.proactive import online_group
from server.ids import now_ms
from server.mail.addresses import domain_of
from server.mail.smtp_url import SmtpTarget, parse_smtp_url
from server.outbox_worker import OutboxWorker
from server.settings import Settings, SettingsError
from server.store import mail_outbox
from server.store.database import Database

log = logging.getLogger("beckon.mail")

DKIM_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"reply-to")
DKIM_HEADERS += (b"in-reply-to", b"references", b"content-type", b"mime-version")


@dataclass(frozen=True, slots=True)
class MailConfig:
    """Where and how email goes; timing in seconds."""

    target: SmtpTarget
    sender: str
    dkim_key: bytes | None = None
    dkim_selector: str = "beckon"
    retry_base_s: float = 30.0
    max_delay_s: float = 3600.0
    give_up_after_s: float = 2 * 24 * 3600.0
    poll_s: float = 1.0
    max_in_flight: int = 8

    @property
    def lease_ms(self) -> int:
        return int((self.target.timeout_s * 4 + 30) * 1000)

    def retry_delay_s(self, attempts_made: int) -> float:
        return min(self.retry_base_s * 2 ** max(0, attempts_made - 1), self.max_delay_s)

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> MailConfig:
        """None-free config for a node with BECKON_SMTP_URL set. BECKON_MAIL_RETRY_BASE_S
        and BECKON_MAIL_POLL_S (tests shorten them) come from `env`. Raises SettingsError
        (a bad variable, an unreadable DKIM key)."""
        env = os.environ if env is None else env
        timing: dict[str, float] = {}
        for name, key, lo, hi in (
            ("BECKON_MAIL_RETRY_BASE_S", "retry_base_s", 0.05, 3600.0),
            ("BECKON_MAIL_POLL_S", "poll_s", 0.05, 60.0),
        ):
            if name in env:
                try:
                    number = float(env[name])
                except ValueError:
                    raise SettingsError(f"{name}: expected a number, got {env[name]!r}") from None
                if not lo <= number <= hi:
                    raise SettingsError(f"{name}: {number} is outside {lo}..{hi}")
                timing[key] = number
        key = None
        if settings.mail_dkim_key_file:
            try:
                key = Path(settings.mail_dkim_key_file).read_bytes()
            except OSError as exc:
                raise SettingsError(f"BECKON_MAIL_DKIM_KEY_FILE: {exc.strerror}") from None
            if b"PRIVATE KEY" not in key:
                raise SettingsError("BECKON_MAIL_DKIM_KEY_FILE: not a PEM private key")
        return cls(
            target=parse_smtp_url(settings.smtp_url),
            sender=settings.mail_from,
            dkim_key=key,
            dkim_selector=settings.mail_dkim_selector,
            **timing,
        )


def dkim_signed(message: bytes, config: MailConfig) -> bytes:
    """`message` with a DKIM-Signature header for the from-domain (if a key is set)."""
    if config.dkim_key is None:
        return message
    import dkim  # only nodes that sign load it

    signature = dkim.sign(
        message,
        config.dkim_selector.encode(),
        domain_of(config.sender).encode(),
        config.dkim_key,
        include_headers=list(DKIM_HEADERS),
    )
    return signature + message


class Permanent(Exception):
    """The server refused the email for good (5xx): no retry."""


class MailWorker(OutboxWorker):
    """One per node: claims due emails, sends each in its own task, records the outcome."""

    name = "mail"

    def __init__(self, db: Database, config: MailConfig, broker: Broker) -> None:
        super().__init__(db, config.poll_s, log)
        self.broker = broker
        self.config = config

    async def next_due_ts(self) -> int | None:
        async with self.db.read() as conn:
            return await mail_outbox.next_due_ts(conn)

    async def run_once(self) -> bool:
        """Claim what is due (within the in-flight bound) and start sending it."""
        room = self.config.max_in_flight - len(self._sending)
        if room <= 0:
            return False
        async with self.db.read() as conn:
            due = await mail_outbox.due(conn, now_ms(), min(self.BATCH, room))
        claimed = 0
        for mail_id in due:
            if self._stopping:
                break
            async with self.db.write() as conn:
                row = await mail_outbox.claim(
                    conn, mail_id, self.node, now_ms(), self.config.lease_ms
                )
            if row is None:
                continue
            claimed += 1
            self.send(self._deliver(row), mail_id)
        return claimed > 0

    async def _send(self, row: dict[str, Any]) -> None:
        target = self.config.target
        message = dkim_signed(row["body"].encode(), self.config)
        try:
            await aiosmtplib.send(
                message,
                sender=self.config.sender,
                recipients=[row["recipient"]],
                hostname=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                use_tls=target.use_tls,
                start_tls=target.start_tls,
                timeout=target.timeout_s,
            )
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise Permanent(f"SMTP {exc.code}: {exc.message}") from None
            raise

    async def _back(self, row: dict[str, Any]) -> bool:
        """An email held for a visitor who might come back: are they back (online)?"""
        if not row["unless_online"] or not row["visitor_id"] or not row["site_id"]:
            return False
        online = await self.broker.presence_members(online_group(row["site_id"]))
        return row["visitor_id"] in online

    async def _deliver(self, row: dict[str, Any]) -> None:
        if await self._back(row):
            async with self.db.write() as conn:
                await mail_outbox.finish(
                    conn,
                    row["id"],
                    self.node,
                    now=now_ms(),
                    outcome=mail_outbox.SKIPPED,
                    error="the visitor came back before it was due",
                    next_attempt_ts=None,
                )
            return
        error: str | None = None
        permanent = False
        try:
            async with asyncio.timeout(self.config.target.timeout_s * 4):
                await self._send(row)
        except Permanent as exc:
            error, permanent = str(exc)[:500], True
        except TimeoutError:
            error = "no answer from the SMTP server in time"
        except (aiosmtplib.SMTPException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = now_ms()
        next_ts = None
        if error is None:
            outcome = mail_outbox.SENT
        elif permanent:
            outcome = mail_outbox.FAILED
        else:
            next_ts = now + int(self.config.retry_delay_s(int(row["attempts"]) + 1) * 1000)
            give_up_at = row["created_ts"] + int(self.config.give_up_after_s * 1000)
            outcome = mail_outbox.FAILED if next_ts > give_up_at else mail_outbox.PENDING
        async with self.db.write() as conn:
            kept = await mail_outbox.finish(
                conn,
                row["id"],
                self.node,
                now=now,
                outcome=outcome,
                error=error,
                next_attempt_ts=next_ts,
            )
        if not kept:
            log.warning("mail %s: lease expired during the attempt", row["id"])
        elif error is not None:
            log.warning("mail %s to %s: %s (%s)", row["id"], row["kind"], error, outcome)
