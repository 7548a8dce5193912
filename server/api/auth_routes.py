"""`/auth/login`, `/auth/logout`, `/auth/logout-all`, `/me`, `/me/password`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from server.api.auth_models import PasswordChange
from server.api.models import LoginIn, MeOut
from server.api.router import ANY_ROLE, PUBLIC, ApiRouter, Context
from server.api.users_view import user_out
from server.auth import SESSION_COOKIE, create_session
from server.client_address import scope_client_ip, scope_scheme
from server.errors import ApiError
from server.hub.access_events import publish_revoke
from server.login_limit import LoginLimiter
from server.store import sessions as session_queries
from server.store import sites as site_queries
from server.store import users as user_queries

routes = ApiRouter()


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), 200, media_type="application/json")


@routes.route("POST", "/auth/login", roles=PUBLIC, body=LoginIn, response=MeOut, tags=["auth"])
async def login(ctx: Context) -> Response:
    """Sign in with email and password; sets the session cookie, returns the CSRF token.

    Failed (and in-flight) attempts are limited per account and per client address
    within a window (429 with Retry-After); argon2 runs in the password thread pool.
    """
    services = ctx.services
    settings = services.settings
    email = ctx.body.email.lower()
    address = scope_client_ip(ctx.request.scope, settings.trusted_proxies)
    limiter = LoginLimiter(
        services.broker,
        per_account=settings.login_max_failures,
        per_address=settings.login_max_failures_per_address,
        window_s=settings.login_window_s,
    )
    await limiter.attempt(email, address)
    async with services.db.read() as conn:
        user = await user_queries.get_user_by_email(conn, email)
    if user is None or not user["active"]:
        await services.passwords.burn(ctx.body.password)
        raise ApiError("unauthorized", "wrong email or password")
    if not await services.passwords.verify(user["password_hash"], ctx.body.password):
        raise ApiError("unauthorized", "wrong email or password")
    await limiter.succeeded(email, address)
    cookie, csrf = await create_session(
        services.db,
        user["id"],
        settings.session_ttl_s,
        ip=address,
        user_agent=ctx.request.headers.get("user-agent", ""),
    )
    async with services.db.read() as conn:
        site_ids = await site_queries.site_ids_of(conn, user["id"])
    response = _json({**user_out(user, site_ids), "csrf_token": csrf})
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
        await publish_revoke(ctx.request.app.state.hub, ctx.user.id, session=ctx.user.session_hash)
    response = _json({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@routes.route("POST", "/auth/logout-all", roles=ANY_ROLE, tags=["auth"])
async def logout_all(ctx: Context) -> Response:
    """Sign out everywhere: end every session of the caller, this one included, and close
    their sockets on every node. API tokens stay (revoke them with `DELETE /tokens/{id}`)."""
    async with ctx.services.db.write() as conn:
        await session_queries.revoke_user_sessions(conn, ctx.user.id)
    await publish_revoke(ctx.request.app.state.hub, ctx.user.id, tokens=False)
    response = _json({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@routes.route("GET", "/me", roles=ANY_ROLE, response=MeOut, tags=["auth"])
async def me(ctx: Context) -> dict[str, Any]:
    """The signed-in user, with the CSRF token of the session."""
    async with ctx.services.db.read() as conn:
        site_ids = await site_queries.site_ids_of(conn, ctx.user.id)
    return {**user_out(ctx.user.user, site_ids), "csrf_token": ctx.user.csrf_token}


@routes.route("POST", "/me/password", roles=ANY_ROLE, body=PasswordChange, tags=["auth"])
async def change_password(ctx: Context) -> dict[str, Any]:
    """Change your own password. Every other session and every API token of yours ends
    (their sockets close with 4401 on every node); this session stays signed in."""
    body: PasswordChange = ctx.body
    passwords = ctx.services.passwords
    if not await passwords.verify(ctx.user.user["password_hash"], body.current_password):
        raise ApiError(
            "forbidden",
            "the current password is wrong",
            details=[{"path": "current_password", "message": "wrong password"}],
        )
    new_hash = await passwords.hash(body.new_password)
    await end_credentials(ctx, ctx.user.id, {"password_hash": new_hash}, ctx.user.session_hash)
    return {"ok": True}


async def end_credentials(
    ctx: Context, user_id: str, values: dict[str, Any], keep_session: str | None
) -> None:
    """Store `values` (a new password hash, or the active flag) and end every session
    except `keep_session`, and every API token, of the user — on every node."""
    async with ctx.services.db.write() as conn:
        await user_queries.update_user(conn, user_id, values)
        await session_queries.revoke_user_sessions(conn, user_id, keep_hash=keep_session)
        await user_queries.revoke_user_tokens(conn, user_id)
    await publish_revoke(ctx.request.app.state.hub, user_id, keep_session=keep_session)
