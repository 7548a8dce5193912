"""`/agents` and `/agents/{agent_id}` (admins manage the team)."""

from __future__ import annotations

from typing import Any

from server.api.models import AgentCreate, AgentPatch, UserOut
from server.api.pagination import decode_cursor, page
from server.api.query import Page
from server.api.router import ApiRouter, Context
from server.api.users_view import user_out
from server.errors import ApiError
from server.hub.access_events import publish_access_changed, publish_revoke
from server.store import sessions as session_queries
from server.store import sites as site_queries
from server.store import users as user_queries
from server.users import check_site_ids, create_user

routes = ApiRouter()
ADMIN = frozenset({"admin"})


@routes.route("GET", "/agents", roles=ADMIN, query=Page, tags=["agents"])
async def list_agents(ctx: Context) -> dict[str, Any]:
    """Every user (admins, marketers, agents), paginated."""
    args: Page = ctx.args
    limit = args.limit
    async with ctx.services.db.read() as conn:
        rows = await user_queries.list_users(
            conn, after_id=decode_cursor(args.cursor), limit=limit + 1
        )
        result = page(rows, limit)
        result["items"] = [
            user_out(r, await site_queries.site_ids_of(conn, r["id"])) for r in result["items"]
        ]
    return result


@routes.route(
    "POST", "/agents", roles=ADMIN, body=AgentCreate, response=UserOut, status=201, tags=["agents"]
)
async def post_agent(ctx: Context) -> dict[str, Any]:
    """Add a user with a role, capacity, departments and sites."""
    body: AgentCreate = ctx.body
    row = await create_user(
        ctx.services.db,
        email=body.email,
        password_hash=await ctx.services.passwords.hash(body.password),
        role=body.role,
        display_name=body.display_name,
        capacity=body.capacity,
        departments=body.departments,
        avatar_url=body.avatar_url,
        site_ids=body.site_ids,
    )
    return user_out(row, sorted(set(body.site_ids)))


async def _get_or_404(conn: Any, agent_id: str) -> dict[str, Any]:
    user = await user_queries.get_user(conn, agent_id)
    if user is None:
        raise ApiError("not_found", "no such agent")
    return user


async def _keeps_an_admin(conn: Any, user: dict[str, Any], still_admin: bool) -> None:
    if user["role"] == "admin" and not still_admin and user["active"]:
        if await user_queries.count_users(conn, role="admin") <= 1:
            raise ApiError("conflict", "this is the last active admin")


@routes.route(
    "PATCH", "/agents/{agent_id}", roles=ADMIN, body=AgentPatch, response=UserOut, tags=["agents"]
)
async def patch_agent(ctx: Context) -> dict[str, Any]:
    """Change a user's role, capacity, departments, sites, password or active flag.

    A new password or deactivation ends the user's sessions and API tokens (the
    caller's own session stays when admins change their own password); a role, site
    or active change reaches the user's open sockets on every node within a second."""
    body: AgentPatch = ctx.body
    values: dict[str, Any] = {}
    for name in body.model_fields_set - {"password", "site_ids"}:
        values[name] = getattr(body, name)
    if body.password is not None:
        values["password_hash"] = await ctx.services.passwords.hash(body.password)
    agent_id = ctx.params["agent_id"]
    keep = ctx.user.session_hash if agent_id == ctx.user.id else None
    async with ctx.services.db.write() as conn:
        user = await _get_or_404(conn, agent_id)
        still_admin = values.get("role", user["role"]) == "admin" and values.get(
            "active", user["active"]
        )
        await _keeps_an_admin(conn, user, bool(still_admin))
        if body.site_ids is not None:
            await check_site_ids(conn, body.site_ids)
            await site_queries.set_memberships(conn, user["id"], list(dict.fromkeys(body.site_ids)))
        await user_queries.update_user(conn, user["id"], values)
        revoked = values.get("active") is False or "password_hash" in values
        if revoked:
            await session_queries.revoke_user_sessions(conn, user["id"], keep_hash=keep)
            await user_queries.revoke_user_tokens(conn, user["id"])
        user = await _get_or_404(conn, user["id"])
        site_ids = await site_queries.site_ids_of(conn, user["id"])
    hub = ctx.request.app.state.hub
    if revoked:
        await publish_revoke(hub, user["id"], keep_session=keep)
    if body.model_fields_set & {"role", "site_ids", "active"}:
        await publish_access_changed(hub, user["id"])
    return user_out(user, site_ids)


@routes.route("DELETE", "/agents/{agent_id}", roles=ADMIN, tags=["agents"])
async def delete_agent(ctx: Context) -> dict[str, Any]:
    """Deactivate a user: sessions and tokens stop working; their history stays."""
    async with ctx.services.db.write() as conn:
        user = await _get_or_404(conn, ctx.params["agent_id"])
        await _keeps_an_admin(conn, user, still_admin=False)
        await user_queries.update_user(conn, user["id"], {"active": False})
        await session_queries.revoke_user_sessions(conn, user["id"])
        await user_queries.revoke_user_tokens(conn, user["id"])
    await publish_revoke(ctx.request.app.state.hub, user["id"])
    return {"ok": True, "id": user["id"]}
