"""`/auth/login`, `/auth/logout`, `/me`, `/tokens`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from server.api.models import LoginIn, MeOut, TokenCreate, TokenOut
from server.api.router import ANY_ROLE, PUBLIC, ApiRouter, Context
from server.api.users_view import user_out
from server.auth import (
    SESSION_COOKIE,
    burn_password_check,
    create_api_token,
    create_session,
    verify_password,
)
from server.client_address import scope_client_ip, scope_scheme
from server.errors import ApiError
from server.hub.chat_events import publish_revoke
from server.ids import now_ms
from server.store import sessions as session_queries
from server.store import sites as site_queries
from server.store import users as user_queries

routes = ApiRouter()


def _client_ip(ctx: Context) -> str:
    return scope_client_ip(ctx.request.scope, ctx.services.settings.trusted_proxies)


@routes.route("POST", "/auth/login", roles=PUBLIC, body=LoginIn, response=MeOut, tags=["auth"])
async def login(ctx: Context) -> Response:
    """Sign in with email and password; sets the session cookie, returns the CSRF token."""
    settings, db = ctx.services.settings, ctx.services.db
    email = ctx.body.email.lower()
    subjects = [f"acct:{email}", f"ip:{_client_ip(ctx)}"]
    now = now_ms()
    window_start = now - settings.login_window_s * 1000
    async with db.read() as conn:
        for subject in subjects:
            if await session_queries.failures_since(conn, subject, window_start) >= (
                settings.login_max_failures
            ):
                raise ApiError(
                    "rate_limited",
                    "too many failed sign-ins; try again later",
                    headers={"Retry-After": str(settings.login_window_s)},
                )
        user = await user_queries.get_user_by_email(conn, email)
    if user is None or not user["active"]:
        burn_password_check(ctx.body.password)
        ok = False
    else:
        ok = verify_password(user["password_hash"], ctx.body.password)
    if not ok:
        async with db.write() as conn:
            await session_queries.prune_failures(conn, window_start)
            await session_queries.record_failure(conn, subjects, now)
        raise ApiError("unauthorized", "wrong email or password")
    assert user is not None
    cookie, csrf = await create_session(db, user["id"], settings.session_ttl_s)
    async with db.read() as conn:
        site_ids = await site_queries.site_ids_of(conn, user["id"])
    body = {**user_out(user, site_ids), "csrf_token": csrf}
    response = Response(orjson.dumps(body), 200, media_type="application/json")
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.session_ttl_s,
        httponly=True,
        samesite="lax",
        # Also when TLS ends at a trusted proxy that says so (X-Forwarded-Proto).
        secure=settings.secure_cookies
        or scope_scheme(ctx.request.scope, settings.trusted_proxies) == "https",
        path="/",
    )
    return response


@routes.route("POST", "/auth/logout", roles=ANY_ROLE, tags=["auth"])
async def logout(ctx: Context) -> Response:
    """End the current session (cookie sessions; API tokens are revoked separately)."""
    if ctx.user.session_hash:
        async with ctx.services.db.write() as conn:
            await session_queries.revoke_session(conn, ctx.user.session_hash)
        await publish_revoke(ctx.request.app.state.hub, ctx.user.id, ctx.user.session_hash)
    response = Response(orjson.dumps({"ok": True}), 200, media_type="application/json")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@routes.route("GET", "/me", roles=ANY_ROLE, response=MeOut, tags=["auth"])
async def me(ctx: Context) -> dict[str, Any]:
    """The signed-in user, with the CSRF token of the session."""
    async with ctx.services.db.read() as conn:
        site_ids = await site_queries.site_ids_of(conn, ctx.user.id)
    return {**user_out(ctx.user.user, site_ids), "csrf_token": ctx.user.csrf_token}


@routes.route(
    "POST",
    "/tokens",
    roles=ANY_ROLE,
    body=TokenCreate,
    response=TokenOut,
    status=201,
    tags=["auth"],
)
async def create_token(ctx: Context) -> dict[str, Any]:
    """Create a bearer API token acting as the caller (shown once)."""
    token_id, token = await create_api_token(ctx.services.db, ctx.user.id, ctx.body.name)
    return {"id": token_id, "name": ctx.body.name, "token": token}
