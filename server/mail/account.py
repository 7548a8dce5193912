"""Account emails: invite a teammate, forgot password. Both send a signed-by-randomness,
single-use, expiring link; the person chooses their own password through it.

- The token is 256 random bits, sent only in the email; the store keeps its SHA-256,
  so a database read does not yield a usable link. Using it is one conditional UPDATE
  (`account_tokens.consume`): single-use even when two uses race.
- At most LINKS_PER_HOUR links per account per hour, and BECKON_MAIL_SITE_PER_HOUR
  account emails per hour in all; past either nothing is sent (logged), and the caller
  answers exactly as when something was sent — "forgot password" never says whether
  an address has an account.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

from server.ids import new_id, now_ms
from server.mail import addresses
from server.mail.compose import AccountLetter, build_account
from server.settings import Settings
from server.store import account_tokens, mail_outbox
from server.store.database import Database

log = logging.getLogger("beckon.mail")

HOUR_MS = 3_600_000
LINKS_PER_HOUR = 3
LIFETIME_HOURS = {"invite": 72, "reset": 1}
PASSWORD_PAGE = "/account/password"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def send_link(
    db: Database,
    settings: Settings,
    wake: Callable[[], None],
    user: dict[str, Any],
    purpose: str,
    *,
    lang: str = "en",
    inviter: str = "",
) -> str:
    """Write the link and its email. "queued", "disabled" or "rate_limited"."""
    if not settings.smtp_url:
        return "disabled"
    now = now_ms()
    token = secrets.token_urlsafe(32)
    hours = LIFETIME_HOURS[purpose]
    mail_id = new_id("ml")
    domain = addresses.domain_of(settings.mail_from)
    letter = AccountLetter(
        kind=purpose,
        lang=lang,
        product="Beckon",
        inviter=inviter,
        sender=settings.mail_from,
        recipient=user["email"],
        recipient_name=user.get("display_name"),
        link=f"{settings.base_url}{PASSWORD_PAGE}#token={token}",
        hours=hours,
        message_id=f"<{mail_id}.account@{domain}>",
        date_ms=now,
    )
    body = build_account(letter).as_bytes().decode("utf-8", "surrogateescape")
    async with db.write() as conn:
        if (
            await account_tokens.count_since(conn, user["id"], now - HOUR_MS) >= LINKS_PER_HOUR
            or await mail_outbox.count_since(conn, now - HOUR_MS, site_id=None)
            >= settings.mail_site_per_hour
        ):
            log.warning("%s link for user %s not sent: rate limit", purpose, user["id"])
            return "rate_limited"
        await account_tokens.insert_token(
            conn,
            {
                "id": token_hash(token),
                "user_id": user["id"],
                "purpose": purpose,
                "created_ts": now,
                "expires_ts": now + hours * HOUR_MS,
            },
        )
        await mail_outbox.enqueue(
            conn,
            {
                "id": mail_id,
                "site_id": None,
                "conversation_id": None,
                "visitor_id": None,
                "kind": purpose,
                "recipient": user["email"],
                "message_id": letter.message_id,
                "body": body,
                "created_ts": now,
            },
        )
    wake()
    return "queued"
