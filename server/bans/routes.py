"""`/sites/{site_id}/bans`: block a visitor id, address or network; list; lift.

Agents of the site and admins may do all three (an agent bans from the console's
visitor panel; admins list and lift in the admin). Each change reaches every node at
once: the site's ban list is announced through the Broker, and every visitor socket of
the site hears a `ban` event (server/bans/visitor.py decides what it does).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from server.api.access import site_for
from server.api.models import Strict
from server.api.query import MAX_INT, Limit, Query
from server.api.router import ApiRouter, Context
from server.bans import queries
from server.bans.matching import BadTarget, parse_network
from server.bans.visitor import EVENT, event_payload
from server.errors import ApiError
from server.hub.dispatch import visitors_channel
from server.ids import new_id, now_ms

routes = ApiRouter()
BAN_ROLES = frozenset({"admin", "agent"})
# Bans that may hold at once per site: every guarded visitor frame scans them.
MAX_ACTIVE = 5000


class BanIn(Strict):
    visitor_id: (
        Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")] | None
    ) = None
    address: Annotated[str, Field(min_length=2, max_length=64)] | None = Field(
        None, description="an IP address or a CIDR network (at most /16 for IPv4, /48 for IPv6)"
    )
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    expires_ts: Annotated[int, Field(ge=0, le=MAX_INT)] | None = Field(
        None, description="ms since the epoch, in the future; null: until lifted"
    )


class BanOut(BaseModel):
    id: str
    site_id: str
    visitor_id: str | None
    network: str | None
    reason: str
    created_by: str | None
    created_ts: int
    expires_ts: int | None
    lifted_ts: int | None
    lifted_by: str | None
    active: bool


class BanList(BaseModel):
    items: list[BanOut]
    next_cursor: None


class BansQuery(Query):
    state: Literal["active", "all"] = "active"
    limit: Limit = 200


def _invalid(path: str, message: str) -> ApiError:
    return ApiError(
        "validation_failed",
        "the request body is not valid",
        details=[{"path": path, "message": message}],
    )


def ban_out(row: dict[str, Any], now: int) -> dict[str, Any]:
    expired = row["expires_ts"] is not None and row["expires_ts"] <= now
    return {**row, "active": row["lifted_ts"] is None and not expired}


async def _announce(ctx: Context, row: dict[str, Any], lifted: bool) -> None:
    await ctx.request.app.state.bans.announce(ctx.services.broker, row["site_id"])
    await ctx.request.app.state.hub.publish(
        visitors_channel(row["site_id"]), EVENT, event_payload(row, lifted)
    )


@routes.route(
    "POST",
    "/sites/{site_id}/bans",
    roles=BAN_ROLES,
    body=BanIn,
    response=BanOut,
    status=201,
    tags=["bans"],
)
async def post_ban(ctx: Context) -> dict[str, Any]:
    """Ban a visitor id, or an address or network, with a reason and an optional expiry."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    body: BanIn = ctx.body
    if (body.visitor_id is None) == (body.address is None):
        raise _invalid("(body)", "give exactly one of visitor_id and address")
    network = None
    if body.address is not None:
        try:
            network = parse_network(body.address)
        except BadTarget as exc:
            raise _invalid("address", str(exc)) from None
    now = now_ms()
    if body.expires_ts is not None and body.expires_ts <= now:
        raise _invalid("expires_ts", "must be in the future")
    row = {
        "id": new_id("bn"),
        "site_id": site["id"],
        "visitor_id": body.visitor_id,
        "network": network,
        "reason": body.reason,
        "created_by": ctx.user.id,
        "created_ts": now,
        "expires_ts": body.expires_ts,
        "lifted_ts": None,
        "lifted_by": None,
    }
    async with ctx.services.db.write() as conn:
        if len(await queries.active_bans(conn, site["id"], now)) >= MAX_ACTIVE:
            raise ApiError("conflict", f"the site already has {MAX_ACTIVE} active bans")
        await queries.insert_ban(conn, row)
    await _announce(ctx, row, lifted=False)
    return ban_out(row, now)


@routes.route(
    "GET",
    "/sites/{site_id}/bans",
    roles=BAN_ROLES,
    query=BansQuery,
    response=BanList,
    tags=["bans"],
)
async def list_bans(ctx: Context) -> dict[str, Any]:
    """The site's bans, newest first: those that hold now, or (`state=all`) every one."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    args: BansQuery = ctx.args
    now = now_ms()
    async with ctx.services.db.read() as conn:
        rows = await queries.list_bans(conn, site["id"], now, args.state == "active", args.limit)
    return {"items": [ban_out(r, now) for r in rows], "next_cursor": None}


@routes.route(
    "DELETE", "/sites/{site_id}/bans/{ban_id}", roles=BAN_ROLES, response=BanOut, tags=["bans"]
)
async def lift_ban(ctx: Context) -> dict[str, Any]:
    """Lift a ban at once on every node; 404 for one already lifted."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    now = now_ms()
    async with ctx.services.db.write() as conn:
        row = await queries.get_ban(conn, site["id"], ctx.params["ban_id"])
        if row is None or not await queries.lift(conn, row["id"], now, ctx.user.id):
            raise ApiError("not_found", "no such ban")
    row = {**row, "lifted_ts": now, "lifted_by": ctx.user.id}
    await _announce(ctx, row, lifted=True)
    return ban_out(row, now)
