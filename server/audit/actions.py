"""Which REST change is which audit action, and how to read what it changed.

Every POST/PUT/PATCH/DELETE endpoint is either named here or listed in `NOT_CHANGES`
(a test fails for one in neither, so a new endpoint cannot go unrecorded by accident).
A loader reads the thing an endpoint changes, by its path parameters, so the router can
record it before and after the handler runs (settings get a before/after without any
handler knowing about the audit log).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store import outbox
from server.store import rules as rule_queries
from server.store import sites as site_queries
from server.store import users as user_queries
from server.store.tables import api_tokens, canned_replies, visitor_bans

Loader = Callable[[AsyncConnection, dict[str, str]], Awaitable[dict[str, Any] | None]]


async def _site(conn: AsyncConnection, p: dict[str, str]) -> dict[str, Any] | None:
    return await site_queries.get_site(conn, p["site_id"])


async def _agent(conn: AsyncConnection, p: dict[str, str]) -> dict[str, Any] | None:
    user = await user_queries.get_user(conn, p["agent_id"])
    if user is None:
        return None
    return {**user, "site_ids": sorted(await site_queries.site_ids_of(conn, user["id"]))}


async def _rule(conn: AsyncConnection, p: dict[str, str]) -> dict[str, Any] | None:
    return await rule_queries.get_rule(conn, p["site_id"], p["rule_id"])


async def _webhook(conn: AsyncConnection, p: dict[str, str]) -> dict[str, Any] | None:
    return await outbox.get_webhook(conn, p["site_id"], p["webhook_id"])


async def _row(conn: AsyncConnection, query: Any) -> dict[str, Any] | None:
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def _token(conn: AsyncConnection, p: dict[str, str]) -> dict[str, Any] | None:
    t = api_tokens.c
    cols = (t.id, t.user_id, t.name, t.created_ts, t.expires_ts, t.revoked)
    return await _row(conn, select(*cols).where(t.id == p["token_id"]))


async def _canned(conn: AsyncConnection, p: dict[str, str]) -> dict[str, Any] | None:
    c = canned_replies.c
    return await _row(conn, select(canned_replies).where(c.id == p["reply_id"]))


async def _ban(conn: AsyncConnection, p: dict[str, str]) -> dict[str, Any] | None:
    return await _row(conn, select(visitor_bans).where(visitor_bans.c.id == p["ban_id"]))


@dataclass(frozen=True, slots=True)
class AuditAction:
    name: str
    loader: Loader | None = None
    id_param: str | None = None  # a create's loader reads the new id into this parameter


ACTIONS: dict[tuple[str, str], AuditAction] = {
    ("POST", "/sites"): AuditAction("site.create", _site, "site_id"),
    ("PATCH", "/sites/{site_id}"): AuditAction("site.update", _site),
    ("POST", "/agents"): AuditAction("user.create", _agent, "agent_id"),
    ("PATCH", "/agents/{agent_id}"): AuditAction("user.update", _agent),
    ("DELETE", "/agents/{agent_id}"): AuditAction("user.delete", _agent),
    ("POST", "/sites/{site_id}/rules"): AuditAction("rule.create", _rule, "rule_id"),
    ("PUT", "/sites/{site_id}/rules/{rule_id}"): AuditAction("rule.update", _rule),
    ("PATCH", "/sites/{site_id}/rules/{rule_id}"): AuditAction("rule.update", _rule),
    ("DELETE", "/sites/{site_id}/rules/{rule_id}"): AuditAction("rule.delete", _rule),
    ("POST", "/sites/{site_id}/rules/{rule_id}/variants/{variant_id}/stop"): AuditAction(
        "rule.variant_stop", _rule
    ),
    ("POST", "/sites/{site_id}/webhooks"): AuditAction("webhook.create", _webhook, "webhook_id"),
    ("DELETE", "/sites/{site_id}/webhooks/{webhook_id}"): AuditAction("webhook.delete", _webhook),
    ("POST", "/sites/{site_id}/webhooks/{webhook_id}/pause"): AuditAction(
        "webhook.pause", _webhook
    ),
    ("POST", "/sites/{site_id}/webhooks/{webhook_id}/resume"): AuditAction(
        "webhook.resume", _webhook
    ),
    ("POST", "/tokens"): AuditAction("token.create", _token, "token_id"),
    ("DELETE", "/tokens/{token_id}"): AuditAction("token.revoke", _token),
    ("POST", "/auth/logout-all"): AuditAction("session.end_all"),
    ("DELETE", "/me/sessions/{session_id}"): AuditAction("session.end"),
    ("POST", "/me/password"): AuditAction("user.password_change"),
    ("PATCH", "/me/profile"): AuditAction("user.profile_update"),
    ("PUT", "/me/avatar"): AuditAction("user.avatar_set"),
    ("DELETE", "/me/avatar"): AuditAction("user.avatar_remove"),
    ("POST", "/sites/{site_id}/canned-replies"): AuditAction(
        "canned_reply.create", _canned, "reply_id"
    ),
    ("PATCH", "/sites/{site_id}/canned-replies/{reply_id}"): AuditAction(
        "canned_reply.update", _canned
    ),
    ("DELETE", "/sites/{site_id}/canned-replies/{reply_id}"): AuditAction(
        "canned_reply.delete", _canned
    ),
    ("POST", "/sites/{site_id}/bans"): AuditAction("ban.create", _ban, "ban_id"),
    ("DELETE", "/sites/{site_id}/bans/{ban_id}"): AuditAction("ban.lift", _ban),
    ("POST", "/sites/{site_id}/privacy/export"): AuditAction("visitor.export"),
    ("POST", "/sites/{site_id}/privacy/erase"): AuditAction("visitor.erase"),
    ("POST", "/agents/invite"): AuditAction("user.invite", _agent, "agent_id"),
    ("PATCH", "/inbox/{item_id}"): AuditAction("inbox.update"),
    ("POST", "/conversations/{conversation_id}/transcript"): AuditAction("transcript.email"),
}

# Requests that change nothing an admin needs to trace: a sign-in or sign-out of one's
# own session, dry runs, and the visitor events a site's backend sends (visitor data,
# at volume; covered by the privacy export instead).
NOT_CHANGES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/auth/login"),
        ("POST", "/auth/logout"),
        ("PUT", "/me/mail-preferences"),  # one's own inbox-email choice
        ("POST", "/sites/{site_id}/rules/validate"),
        ("POST", "/sites/{site_id}/rules/matching"),
        ("POST", "/sites/{site_id}/rules/backtest"),
        ("POST", "/sites/{site_id}/rules/{rule_id}/backtest"),
        ("POST", "/sites/{site_id}/webhooks/{webhook_id}/test"),
        ("POST", "/sites/{site_id}/events"),
        ("POST", "/sites/{site_id}/backtest"),
        # A chat answer or a file sent in a chat (the transcript keeps them), and the
        # anonymous account-link requests (no signed-in actor; the link's use ends every
        # session of the account).
        ("POST", "/inbox/{item_id}/reply"),
        ("PUT", "/conversations/{conversation_id}/attachments/{upload_id}"),
        ("POST", "/auth/forgot"),
        ("POST", "/auth/password-link"),
    }
)
