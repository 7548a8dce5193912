"""The inbox over REST: list and count items, assign, set status, answer.

Agents see the items of their sites, admins every site's; an item of another site is
`not_found`, like a site (ids cannot be probed). Items are made by
`server/chat/inbox.py`; an answer goes through `server/hub/follow_up.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from server.api.access import site_for
from server.api.models import Strict, unset
from server.api.pagination import decode_ts_cursor, ts_page
from server.api.query import Id, Page, Text
from server.api.router import ApiRouter, Context
from server.chat.inbox import item_frame
from server.chat.payloads import message_frame
from server.errors import ApiError
from server.hub import follow_up
from server.ids import now_ms
from server.store import inbox as queries
from server.store import sites as site_queries
from server.store import users as user_queries

routes = ApiRouter()
CHAT_ROLES = frozenset({"admin", "agent"})
Status = Literal["new", "assigned", "waiting", "done"]


class InboxQuery(Page):
    status: Status | None = None
    department: Annotated[str, Field(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    agent_id: Id | None = Field(None, description="an agent's id, or `me`")
    kind: Literal["offline_message", "missed", "unanswered"] | None = None
    q: Text | None = Field(None, description="words in the message, the name or the email")


class ItemPatch(Strict):
    status: Status = unset()
    agent_id: Annotated[str, Field(min_length=1, max_length=64)] | None = unset()


class ReplyIn(Strict):
    text: Annotated[str, Field(min_length=1, max_length=4000)]


async def _visible_item(ctx: Context) -> dict[str, Any]:
    async with ctx.services.db.read() as conn:
        item = await queries.get_item(conn, ctx.params["item_id"])
    if item is None:
        raise ApiError("not_found", "no such inbox item")
    try:
        await site_for(ctx.services.db, ctx.user, item["site_id"])
    except ApiError:
        raise ApiError("not_found", "no such inbox item") from None
    return item


@routes.route("GET", "/sites/{site_id}/inbox", roles=CHAT_ROLES, query=InboxQuery, tags=["inbox"])
async def list_inbox(ctx: Context) -> dict[str, Any]:
    """The site's inbox items, newest first; filters status, department, agent_id (or
    `me`), kind, q."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    args: InboxQuery = ctx.args
    agent_id = ctx.user.id if args.agent_id == "me" else args.agent_id
    async with ctx.services.db.read() as conn:
        rows = await queries.list_items(
            conn,
            site["id"],
            status=args.status,
            department=args.department or None,
            agent_id=agent_id,
            kind=args.kind,
            text=(args.q or "").strip() or None,
            after=decode_ts_cursor(args.cursor),
            limit=args.limit + 1,
        )
    result = ts_page(rows, args.limit, "created_ts")
    result["items"] = [item_frame(r) for r in result["items"]]
    return result


@routes.route("GET", "/inbox/counts", roles=CHAT_ROLES, tags=["inbox"])
async def inbox_counts(ctx: Context) -> dict[str, Any]:
    """Items by status on each of the caller's sites, and `open` (not done) and `mine`
    (assigned to the caller, not done) over all of them — the console's badge."""
    async with ctx.services.db.read() as conn:
        site_ids = None if ctx.user.is_admin else await site_queries.site_ids_of(conn, ctx.user.id)
        by_site = await queries.counts(conn, site_ids, ctx.user.id)
    return {
        "sites": by_site,
        "open": sum(c["new"] + c["assigned"] + c["waiting"] for c in by_site.values()),
        "new": sum(c["new"] for c in by_site.values()),
        "mine": sum(c["mine"] for c in by_site.values()),
    }


@routes.route("GET", "/inbox/{item_id}", roles=CHAT_ROLES, tags=["inbox"])
async def get_item(ctx: Context) -> dict[str, Any]:
    """One item with its thread (`messages`: the conversation's public messages, or the
    offline message alone while it has no conversation)."""
    item = await _visible_item(ctx)
    if item["conversation_id"] is None:
        return {**item_frame(item), "messages": []}
    async with ctx.services.db.read() as conn:
        frame = await follow_up.follow_up_frame(conn, item)
    return {**item_frame(item), "messages": frame["messages"]}


@routes.route("PATCH", "/inbox/{item_id}", roles=CHAT_ROLES, body=ItemPatch, tags=["inbox"])
async def patch_item(ctx: Context) -> dict[str, Any]:
    """Assign (`agent_id`: an agent of the site, `me`, or null) and/or set `status`.
    Assigning a `new` item makes it `assigned`; unassigning an `assigned` one, `new`."""
    item = await _visible_item(ctx)
    body: ItemPatch = ctx.body
    values: dict[str, Any] = {}
    if "agent_id" in body.model_fields_set:
        agent_id = ctx.user.id if body.agent_id == "me" else body.agent_id
        if agent_id is not None:
            await _check_agent(ctx, item["site_id"], agent_id)
        values["agent_id"] = agent_id
        if agent_id is not None and item["status"] == "new":
            values["status"] = "assigned"
        elif agent_id is None and item["status"] == "assigned":
            values["status"] = "new"
    if "status" in body.model_fields_set:
        values["status"] = body.status
    agent_after = values.get("agent_id", item["agent_id"])
    if values.get("status") == "assigned" and agent_after is None:
        raise ApiError("conflict", "an item is assigned to an agent: give agent_id")
    if values:
        values["updated_ts"] = now_ms()
        async with ctx.services.db.write() as conn:
            await queries.update_item(conn, item["id"], values)
    return item_frame({**item, **values})


async def _check_agent(ctx: Context, site_id: str, agent_id: str) -> None:
    async with ctx.services.db.read() as conn:
        user = await user_queries.get_user(conn, agent_id)
        member = user is not None and (
            user["role"] == "admin" or await site_queries.is_member(conn, site_id, agent_id)
        )
    if not member or user is None or not user["active"] or user["role"] not in CHAT_ROLES:
        raise ApiError("not_found", "no such agent on this site")


@routes.route(
    "POST", "/inbox/{item_id}/reply", roles=CHAT_ROLES, body=ReplyIn, status=201, tags=["inbox"]
)
async def reply_item(ctx: Context) -> dict[str, Any]:
    """Answer the visitor: stored in the item's conversation (the chat may be over), shown
    by the widget when the visitor comes back, and handed to email delivery
    (`inbox.reply`). The item becomes `waiting` and, if nobody had it, the caller's."""
    item = await _visible_item(ctx)
    agent = {"id": ctx.user.id, "display_name": ctx.user.user.get("display_name")}
    try:
        item, row = await follow_up.reply(
            ctx.services.db,
            ctx.request.app.state.hub,
            ctx.request.app.state.events,
            item["id"],
            agent,
            ctx.body.text,
        )
    except KeyError:
        raise ApiError("not_found", "no such inbox item") from None
    except follow_up.NoVisitor:
        raise ApiError("conflict", "this item has no visitor to answer") from None
    return {"item": item_frame(item), "message": message_frame(row)}
