"""Account emails over REST: invite a teammate (`POST /agents/invite`), forgot password
(`POST /auth/forgot`), and choosing a password through the emailed link
(`POST /auth/password-link`). The logic is in `server/mail/account.py`."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any, Literal

from pydantic import Field

from server.api.auth_models import Password
from server.api.models import Department, Email, Name, Role, Strict
from server.api.router import PUBLIC, ApiRouter, Context
from server.api.users_view import user_out
from server.chat import quotas
from server.chat.quotas import Quota
from server.client_address import scope_client_ip
from server.errors import ApiError
from server.hub.access_events import publish_revoke
from server.ids import now_ms
from server.mail.account import send_link, token_hash
from server.mail.i18n import LANGUAGES
from server.store import account_tokens
from server.store import sessions as session_queries
from server.store import users as user_queries
from server.users import create_user

log = logging.getLogger("beckon.mail")
routes = ApiRouter()
ADMIN = frozenset({"admin"})
Lang = Literal["en", "hr", "sl", "sr", "de", "it", "fr", "es"]
assert set(Lang.__args__) == set(LANGUAGES)  # type: ignore[attr-defined]
FORGOT_ANSWER = {"status": "if this address has an account, a link is on its way"}
BAD_LINK = "this link is invalid, used or expired"
FORGOT_PER_ADDRESS = Quota("forgot_password", 10, 3600)  # requests per client address an hour


class AgentInvite(Strict):
    email: Email
    role: Role = "agent"
    display_name: Name
    capacity: Annotated[int, Field(ge=1, le=50)] = 3
    departments: Annotated[list[Department], Field(max_length=50, default_factory=list)]
    site_ids: Annotated[
        list[Annotated[str, Field(max_length=32)]], Field(max_length=500, default_factory=list)
    ]
    lang: Lang = "en"


class Forgot(Strict):
    email: Email
    lang: Lang = "en"


class PasswordFromLink(Strict):
    token: Annotated[str, Field(min_length=20, max_length=200)]
    password: Password


def _wake(ctx: Context) -> Any:
    worker = ctx.request.app.state.mail.worker
    return worker.wake if worker is not None else (lambda: None)


@routes.route("POST", "/agents/invite", roles=ADMIN, body=AgentInvite, status=201, tags=["agents"])
async def invite_agent(ctx: Context) -> dict[str, Any]:
    """Add a teammate who chooses their own password through an emailed link."""
    body: AgentInvite = ctx.body
    settings = ctx.services.settings
    if not settings.smtp_url:
        raise ApiError("conflict", "email is not configured on this server (BECKON_SMTP_URL)")
    row = await create_user(
        ctx.services.db,
        # Nobody knows this password: the teammate sets theirs through the link.
        password_hash=await ctx.services.passwords.hash(secrets.token_urlsafe(32)),
        email=body.email,
        role=body.role,
        display_name=body.display_name,
        capacity=body.capacity,
        departments=body.departments,
        site_ids=body.site_ids,
    )
    inviter = ctx.user.user["display_name"]
    sent = await send_link(
        ctx.services.db, settings, _wake(ctx), row, "invite", lang=body.lang, inviter=inviter
    )
    return {**user_out(row, sorted(set(body.site_ids))), "invite": sent}


@routes.route("POST", "/auth/forgot", roles=PUBLIC, body=Forgot, status=202, tags=["auth"])
async def forgot_password(ctx: Context) -> dict[str, Any]:
    """Email a password link to the address if it has an account; the answer is the
    same whether it does or not (and whether the rate limit held it back)."""
    body: Forgot = ctx.body
    address = scope_client_ip(ctx.request.scope, ctx.services.settings.trusted_proxies)
    # Per client address, whatever the email: says nothing about any account.
    if not await quotas.take(ctx.services.broker, FORGOT_PER_ADDRESS, "ip", address):
        raise ApiError("rate_limited", "too many password requests from this address; try later")
    async with ctx.services.db.read() as conn:
        user = await user_queries.get_user_by_email(conn, body.email.lower())
    if user is not None and user["active"]:
        await send_link(
            ctx.services.db, ctx.services.settings, _wake(ctx), user, "reset", lang=body.lang
        )
    return FORGOT_ANSWER


@routes.route("POST", "/auth/password-link", roles=PUBLIC, body=PasswordFromLink, tags=["auth"])
async def password_from_link(ctx: Context) -> dict[str, Any]:
    """Set your password with the emailed link's token. Every session and API token of
    the account ends (its sockets close with 4401) and every other link stops working."""
    body: PasswordFromLink = ctx.body
    new_hash = await ctx.services.passwords.hash(body.password)
    now = now_ms()
    async with ctx.services.db.write() as conn:
        link = await account_tokens.consume(conn, token_hash(body.token), now)
        user = await user_queries.get_user(conn, link["user_id"]) if link else None
        if link is None or user is None or not user["active"]:
            raise ApiError("invalid_request", BAD_LINK)
        await user_queries.update_user(conn, user["id"], {"password_hash": new_hash})
        await session_queries.revoke_user_sessions(conn, user["id"])
        await user_queries.revoke_user_tokens(conn, user["id"])
        await account_tokens.retire_for_user(conn, user["id"], now)
    await publish_revoke(ctx.request.app.state.hub, user["id"])
    log.info("password set through a %s link for user %s", link["purpose"], user["id"])
    return {"ok": True, "email": user["email"]}
