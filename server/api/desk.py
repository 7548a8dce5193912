"""The agent's desk over REST: canned replies and offline messages of a site."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import and_, delete, or_, select, update

from server.api.access import site_for
from server.api.models import Strict, unset
from server.api.pagination import decode_ts_cursor, ts_page
from server.api.query import Page
from server.api.router import ApiRouter, Context
from server.errors import ApiError
from server.hub.hub import site_channel
from server.ids import new_id, now_ms
from server.store.tables import canned_replies, offline_messages

routes = ApiRouter()
CHAT_ROLES = frozenset({"admin", "agent"})
log = logging.getLogger("beckon.api")


async def _announce_canned(ctx: Context, row: dict[str, Any]) -> None:
    """Open consoles of the site re-read their replies (a personal reply: only its
    owner's). Only a hint: the change is stored, and a console that misses it reads the
    replies again when it next loads."""
    frame = {"type": "canned_changed", "site_id": row["site_id"], "agent_id": row["agent_id"]}
    try:
        await ctx.request.app.state.hub.publish(site_channel(row["site_id"]), "canned", frame)
    except Exception as exc:
        log.warning("canned reply change not announced: %r", exc)


class CannedReplyIn(Strict):
    shortcut: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")]
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    scope: Annotated[str, Field(pattern="^(site|agent)$")] = "agent"


class CannedReplyPatch(Strict):
    shortcut: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")] = unset()
    text: Annotated[str, Field(min_length=1, max_length=4000)] = unset()


def _canned_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "shortcut": row["shortcut"],
        "text": row["text"],
        "scope": "agent" if row["agent_id"] else "site",
        "agent_id": row["agent_id"],
        "created_ts": row["created_ts"],
    }


@routes.route("GET", "/sites/{site_id}/canned-replies", roles=CHAT_ROLES, tags=["desk"])
async def list_canned(ctx: Context) -> dict[str, Any]:
    """The site's shared replies and the caller's own, by shortcut."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    query = (
        select(canned_replies)
        .where(
            canned_replies.c.site_id == site["id"],
            or_(canned_replies.c.agent_id.is_(None), canned_replies.c.agent_id == ctx.user.id),
        )
        .order_by(canned_replies.c.shortcut, canned_replies.c.id)
    )
    async with ctx.services.db.read() as conn:
        rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    return {"items": [_canned_out(r) for r in rows], "next_cursor": None}


@routes.route(
    "POST",
    "/sites/{site_id}/canned-replies",
    roles=CHAT_ROLES,
    body=CannedReplyIn,
    status=201,
    tags=["desk"],
)
async def create_canned(ctx: Context) -> dict[str, Any]:
    """Add a reply: `scope: site` (admins) is shared; `agent` is the caller's own."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    body: CannedReplyIn = ctx.body
    if body.scope == "site" and not ctx.user.is_admin:
        raise ApiError("forbidden", "only admins add replies shared by the whole site")
    row = {
        "id": new_id("cr"),
        "site_id": site["id"],
        "agent_id": None if body.scope == "site" else ctx.user.id,
        "shortcut": body.shortcut,
        "text": body.text,
        "created_ts": now_ms(),
    }
    async with ctx.services.db.write() as conn:
        await conn.execute(canned_replies.insert().values(**row))
    await _announce_canned(ctx, row)
    return _canned_out(row)


async def _editable(ctx: Context) -> dict[str, Any]:
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    query = select(canned_replies).where(
        canned_replies.c.id == ctx.params["reply_id"], canned_replies.c.site_id == site["id"]
    )
    async with ctx.services.db.read() as conn:
        found = (await conn.execute(query)).mappings().first()
    row = dict(found) if found else None
    if row is None or (row["agent_id"] not in (None, ctx.user.id)):
        raise ApiError("not_found", "no such canned reply")
    if row["agent_id"] is None and not ctx.user.is_admin:
        raise ApiError("forbidden", "only admins change replies shared by the whole site")
    return row


@routes.route(
    "PATCH",
    "/sites/{site_id}/canned-replies/{reply_id}",
    roles=CHAT_ROLES,
    body=CannedReplyPatch,
    tags=["desk"],
)
async def patch_canned(ctx: Context) -> dict[str, Any]:
    """Change a reply's shortcut or text."""
    row = await _editable(ctx)
    values = {k: getattr(ctx.body, k) for k in ctx.body.model_fields_set}
    if values:
        async with ctx.services.db.write() as conn:
            await conn.execute(
                update(canned_replies).where(canned_replies.c.id == row["id"]).values(**values)
            )
        await _announce_canned(ctx, row)
    return _canned_out({**row, **values})


@routes.route(
    "DELETE", "/sites/{site_id}/canned-replies/{reply_id}", roles=CHAT_ROLES, tags=["desk"]
)
async def delete_canned(ctx: Context) -> dict[str, Any]:
    """Remove a reply."""
    row = await _editable(ctx)
    async with ctx.services.db.write() as conn:
        await conn.execute(delete(canned_replies).where(canned_replies.c.id == row["id"]))
    await _announce_canned(ctx, row)
    return {"ok": True, "id": row["id"]}


@routes.route(
    "GET", "/sites/{site_id}/offline-messages", roles=CHAT_ROLES, query=Page, tags=["desk"]
)
async def list_offline(ctx: Context) -> dict[str, Any]:
    """Messages visitors left while nobody was available, newest first."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    args: Page = ctx.args
    limit = args.limit
    table = offline_messages
    select_ = (
        select(table)
        .where(table.c.site_id == site["id"])
        .order_by(table.c.created_ts.desc(), table.c.id.desc())
        .limit(limit + 1)
    )
    after = decode_ts_cursor(args.cursor)
    if after is not None:
        ts, row_id = after
        select_ = select_.where(
            or_(table.c.created_ts < ts, and_(table.c.created_ts == ts, table.c.id < row_id))
        )
    async with ctx.services.db.read() as conn:
        rows = [dict(r) for r in (await conn.execute(select_)).mappings()]
    return ts_page(rows, limit, "created_ts")
