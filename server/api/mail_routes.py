"""Email of a conversation over REST: what was sent (`GET …/emails`) and the
transcript on request (`POST …/transcript`). Agents of the site and admins only."""

from __future__ import annotations

from typing import Any

from server.api.conversations import CHAT_ROLES, _visible_conversation
from server.api.router import ApiRouter, Context
from server.errors import ApiError
from server.store import mail_outbox

routes = ApiRouter()

REFUSALS = {
    "disabled": ("conflict", "email is not configured on this server (BECKON_SMTP_URL)"),
    "no_email": ("conflict", "the visitor left no email address"),
    "bad_address": ("validation_failed", "the visitor's stored email address is not usable"),
    "rate_limited": ("rate_limited", "too many emails to this visitor or site; try later"),
    "not_found": ("not_found", "no such conversation"),
}


def _email(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "kind", "recipient", "message_id", "status", "attempts", "last_error")
    return {**{k: row[k] for k in keys}, "created_ts": row["created_ts"], "sent_ts": row["sent_ts"]}


@routes.route(
    "GET", "/conversations/{conversation_id}/emails", roles=CHAT_ROLES, tags=["conversations"]
)
async def list_emails(ctx: Context) -> dict[str, Any]:
    """The conversation's emails, oldest first: status pending, sent or failed."""
    conv = await _visible_conversation(ctx)
    async with ctx.services.db.read() as conn:
        rows = await mail_outbox.of_conversation(conn, conv["id"])
    return {"items": [_email(r) for r in rows]}


@routes.route(
    "POST",
    "/conversations/{conversation_id}/transcript",
    roles=CHAT_ROLES,
    status=202,
    tags=["conversations"],
)
async def send_transcript(ctx: Context) -> dict[str, Any]:
    """Email the conversation's transcript to its visitor's stored address."""
    conv = await _visible_conversation(ctx)
    result = await ctx.request.app.state.mail.out.queue_transcript(conv["id"])
    if result != "queued":
        code, message = REFUSALS[result]
        raise ApiError(code, message)
    return {"status": "queued"}
