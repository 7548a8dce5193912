"""Conversation history: `/conversations/{id}`, `/conversations/{id}/messages`,
`/sites/{site_id}/conversations`. Agents of the site and admins only: a marketer
cannot read transcripts unless also an agent (guarantee 7)."""

from __future__ import annotations

from typing import Any

from server.api.access import site_for
from server.api.pagination import decode_ts_cursor, ts_page
from server.api.query import ConversationsQuery, MessagesQuery
from server.api.router import ApiRouter, Context
from server.chat import conversations, feedback, messages
from server.chat.payloads import conversation_summary, message_frame
from server.errors import ApiError
from server.store import conversations as conv_queries

routes = ApiRouter()
CHAT_ROLES = frozenset({"admin", "agent"})


async def _visible_conversation(ctx: Context) -> dict[str, Any]:
    conv = await conversations.get(ctx.services.db, ctx.params["conversation_id"])
    if conv is None:
        raise ApiError("not_found", "no such conversation")
    try:
        await site_for(ctx.services.db, ctx.user, conv["site_id"])
    except ApiError:
        raise ApiError("not_found", "no such conversation") from None
    return conv


@routes.route("GET", "/conversations/{conversation_id}", roles=CHAT_ROLES, tags=["conversations"])
async def get_conversation(ctx: Context) -> dict[str, Any]:
    """One conversation of the caller's sites, with the visitor brief and the visitor's
    survey answers (`surveys`: kind, score, comment, created_ts; oldest first)."""
    conv = await _visible_conversation(ctx)
    brief = await ctx.request.app.state.briefs.one(conv["visitor_id"])
    answers = await feedback.surveys_of(ctx.services.db, conv["id"])
    return {**conversation_summary(conv), "visitor": brief, "surveys": answers}


@routes.route(
    "GET",
    "/conversations/{conversation_id}/messages",
    roles=CHAT_ROLES,
    query=MessagesQuery,
    tags=["conversations"],
)
async def get_messages(ctx: Context) -> dict[str, Any]:
    """Messages with seq > after_seq, in order (internal notes included for agents)."""
    conv = await _visible_conversation(ctx)
    args: MessagesQuery = ctx.args
    after_seq, limit = args.after_seq, args.limit
    rows = await messages.after(
        ctx.services.db, conv["id"], after_seq, include_internal=True, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [message_frame(r) for r in rows],
        "next_cursor": str(rows[-1]["seq"]) if more else None,
    }


@routes.route(
    "GET",
    "/sites/{site_id}/conversations",
    roles=CHAT_ROLES,
    query=ConversationsQuery,
    tags=["conversations"],
)
async def list_conversations(ctx: Context) -> dict[str, Any]:
    """The site's conversations, newest first, each with the visitor brief; filters
    status, agent_id, from_ts, to_ts, q."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    args: ConversationsQuery = ctx.args
    limit = args.limit
    after = decode_ts_cursor(args.cursor)
    text = (args.q or "").strip()
    async with ctx.services.db.read() as conn:
        rows = await conv_queries.list_for_site(
            conn,
            site["id"],
            status=args.status,
            agent_id=args.agent_id,
            from_ts=args.from_ts,
            to_ts=args.to_ts,
            after=after,
            limit=limit + 1,
            text=text or None,
        )
    result = ts_page(rows, limit, "created_ts")
    briefs = await ctx.request.app.state.briefs.many(r["visitor_id"] for r in result["items"])
    result["items"] = [
        {**conversation_summary(r), "visitor": briefs[r["visitor_id"]]} for r in result["items"]
    ]
    return result
