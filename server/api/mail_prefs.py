"""An agent's own email preferences (`GET`/`PUT /me/mail-preferences`): whether to get
an email about new inbox items (at most one per BECKON_MAIL_INBOX_ALERT_S; see
`server/mail/inbox_alerts.py`) and in which of the emails' languages."""

from __future__ import annotations

from typing import Any

from server.api.account_routes import Lang
from server.api.inbox import CHAT_ROLES
from server.api.models import Strict
from server.api.router import ApiRouter, Context
from server.ids import now_ms
from server.store import mail_prefs

routes = ApiRouter()


class MailPrefs(Strict):
    inbox_email: bool
    lang: Lang = "en"


def _out(row: dict[str, Any] | None, ctx: Context) -> dict[str, Any]:
    return {
        "inbox_email": bool(row and row["inbox_email"]),
        "lang": row["lang"] if row else "en",
        "available": bool(ctx.services.settings.smtp_url),  # false: no email is sent at all
        "every_s": ctx.services.settings.mail_inbox_alert_s,
    }


@routes.route("GET", "/me/mail-preferences", roles=CHAT_ROLES, tags=["auth"])
async def get_prefs(ctx: Context) -> dict[str, Any]:
    """Your choice (off until you turn it on)."""
    async with ctx.services.db.read() as conn:
        return _out(await mail_prefs.get(conn, ctx.user.id), ctx)


@routes.route("PUT", "/me/mail-preferences", roles=CHAT_ROLES, body=MailPrefs, tags=["auth"])
async def put_prefs(ctx: Context) -> dict[str, Any]:
    """Turn the inbox email on or off; turned on, it reports items from now on."""
    body: MailPrefs = ctx.body
    async with ctx.services.db.write() as conn:
        await mail_prefs.put(conn, ctx.user.id, body.inbox_email, body.lang, now_ms())
        return _out(await mail_prefs.get(conn, ctx.user.id), ctx)
