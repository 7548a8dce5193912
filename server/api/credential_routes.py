"""`/me/sessions` (your sign-ins) and `/tokens` (your API tokens): list, create, end."""

from __future__ import annotations

from typing import Any

from server.api.auth_models import SessionInfo, TokenCreate, TokenOut
from server.api.router import ANY_ROLE, ApiRouter, Context
from server.auth import create_api_token
from server.errors import ApiError
from server.hub.access_events import publish_revoke
from server.ids import now_ms
from server.store import sessions as session_queries
from server.store import users as user_queries

routes = ApiRouter()


@routes.route("GET", "/me/sessions", roles=ANY_ROLE, tags=["auth"])
async def list_sessions(ctx: Context) -> dict[str, Any]:
    """Your live sessions, newest first: when they began and were last used, and the
    address and browser they were opened from. `current` marks this request's."""
    async with ctx.services.db.read() as conn:
        rows = await session_queries.live_sessions(conn, ctx.user.id, now_ms())
    items = []
    for row in rows:
        current = row.pop("token_hash") == ctx.user.session_hash
        items.append(SessionInfo(**row, current=current).model_dump())
    return {"items": items, "next_cursor": None}


@routes.route("DELETE", "/me/sessions/{session_id}", roles=ANY_ROLE, tags=["auth"])
async def end_session(ctx: Context) -> dict[str, Any]:
    """End one of your sessions (its sockets close with 4401 on every node)."""
    session_id = ctx.params["session_id"]
    async with ctx.services.db.write() as conn:
        digest = await session_queries.session_hash_by_id(conn, ctx.user.id, session_id)
        if digest is None:
            raise ApiError("not_found", "no such session")
        await session_queries.revoke_session(conn, digest)
    await publish_revoke(ctx.request.app.state.hub, ctx.user.id, session=digest)
    return {"ok": True, "id": session_id}


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
    """Create a bearer API token acting as you; the secret is shown once, stored hashed."""
    body: TokenCreate = ctx.body
    if body.expires_ts is not None and body.expires_ts <= now_ms():
        raise ApiError(
            "validation_failed",
            "the request body is not valid",
            details=[{"path": "expires_ts", "message": "must be in the future"}],
        )
    return await create_api_token(ctx.services.db, ctx.user.id, body.name, body.expires_ts)


@routes.route("GET", "/tokens", roles=ANY_ROLE, tags=["auth"])
async def list_tokens(ctx: Context) -> dict[str, Any]:
    """Your API tokens not revoked, newest first (expired ones too, with `expires_ts`);
    never the secret."""
    async with ctx.services.db.read() as conn:
        items = await user_queries.unrevoked_tokens(conn, ctx.user.id)
    return {"items": items, "next_cursor": None}


@routes.route("DELETE", "/tokens/{token_id}", roles=ANY_ROLE, tags=["auth"])
async def revoke_token(ctx: Context) -> dict[str, Any]:
    """Revoke one of your API tokens: it gets 401 at once, and sockets signed in with it
    close with 4401 on every node. An admin may revoke anyone's token."""
    token_id = ctx.params["token_id"]
    async with ctx.services.db.write() as conn:
        token = await user_queries.get_token(conn, token_id)
        if token is None or token["revoked"]:
            raise ApiError("not_found", "no such token")
        if token["user_id"] != ctx.user.id and not ctx.user.is_admin:
            raise ApiError("not_found", "no such token")
        await user_queries.revoke_token(conn, token_id)
    await publish_revoke(ctx.request.app.state.hub, token["user_id"], token=token_id)
    return {"ok": True, "id": token_id}
