"""Live visitors over REST: who is on the site, one visitor's context, and "why" — the
engine's trace for that visitor now — plus the site's team for transfers."""

from __future__ import annotations

import re
import time
from typing import Any

from invitations import evaluate
from invitations.decisions import MAX_CHANGES_PER_VISIT
from server.api.access import site_for
from server.api.query import Limit, Query
from server.api.query import parse_query as parse_query_string
from server.api.router import ANY_ROLE, ApiRouter, Context
from server.chat import live_visitors, presence, visitor_listing, visitor_state
from server.chat.payloads import conversation_summary
from server.chat.proactive import online_group, visitor_summary
from server.chat.visitor_listing import Entry
from server.chat.visitor_query import QueryError, parse_query
from server.errors import ApiError
from server.store import conversations as conv_queries
from server.store import decisions
from server.store.tables import site_members, users

routes = ApiRouter()
CONTEXT_ROLES = frozenset({"admin", "agent", "marketer"})
PAGING = frozenset({"limit", "cursor"})


class VisitorsPage(Query):
    """The paging half of the visitors list's query string (the filters are
    `visitor_query`'s)."""

    limit: Limit = 50


async def _visitor(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    async with ctx.services.db.read() as conn:
        row = await conv_queries.get_visitor(conn, ctx.params["visitor_id"])
    if row is None or row["site_id"] != site["id"]:
        raise ApiError("not_found", "no such visitor")
    return site, row


@routes.route("GET", "/sites/{site_id}/visitors", roles=CONTEXT_ROLES, tags=["visitors"])
async def online_visitors(ctx: Context) -> dict[str, Any]:
    """Visitors on the site now (any node), filtered, sorted and paged like the
    console's view (`visitor_query`), with the exact counts."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    params = ctx.query()
    page: VisitorsPage = parse_query_string(VisitorsPage, params)  # type: ignore[assignment]
    limit = page.limit
    try:
        query = parse_query(params, ignore=PAGING)
        cursor = params.get("cursor")
        after = visitor_listing.decode_cursor(query, cursor) if cursor else None
    except QueryError as exc:
        raise _bad_query(exc) from None
    entries, queued = await _live(ctx, site["id"])
    listing = visitor_listing.run(entries, queued, query)
    try:
        ids, last = visitor_listing.page_after(listing, after, limit)
    except QueryError as exc:
        raise _bad_query(exc) from None
    return {
        "items": [{**entries[v].summary, "state": listing.states[v]} for v in ids],
        "next_cursor": visitor_listing.encode_cursor(query, last) if last else None,
        "online": listing.counts["online"],
        "total": listing.counts["matching"],
        "counts": listing.counts,
    }


def _bad_query(exc: QueryError) -> ApiError:
    """A 422 naming the parameter, like every other query string (strict input)."""
    named = re.search(r"'([a-z_]+)'", str(exc))
    path = named.group(1) if named else "(query)"
    return ApiError(
        "validation_failed",
        "the query string is not valid",
        details=[{"path": path, "message": str(exc)}],
    )


async def _live(ctx: Context, site_id: str) -> tuple[dict[str, Entry], frozenset[str]]:
    """Every live visitor of the site: this node's mirror when a console here watches
    the site (kept current), else read from the Broker now."""
    mirror = ctx.request.app.state.visitor_views.mirrors.loaded(site_id)
    if mirror is not None:
        return mirror.entries, mirror.queued
    online = await live_visitors.online_ids(ctx.services.broker, site_id)
    summaries = await live_visitors.load_summaries(ctx.services.broker, online, time.time())
    async with ctx.services.db.read() as conn:
        queued = frozenset(r["visitor_id"] for r in await conv_queries.list_queued(conn, [site_id]))
    return {vid: Entry.of(s, 0) for vid, s in summaries.items()}, queued


@routes.route(
    "GET", "/sites/{site_id}/visitors/{visitor_id}", roles=CONTEXT_ROLES, tags=["visitors"]
)
async def visitor_context(ctx: Context) -> dict[str, Any]:
    """One visitor: identity, live facts, previous conversations."""
    site, row = await _visitor(ctx)
    state = await visitor_state.load(ctx.services.broker, row["id"])
    members = await ctx.services.broker.presence_members(online_group(site["id"]))
    async with ctx.services.db.read() as conn:
        history = await conv_queries.list_for_visitor(conn, row["id"], limit=20)
    summary = visitor_summary(state, time.time())
    return {
        **summary,
        "name": row["name"] or summary["name"],
        "email": row["email"] or summary["email"],
        "user_id": row["user_id"],
        "identified": bool(row["user_id"]),
        "online": row["id"] in members,
        "first_seen_ts": row["first_seen_ts"],
        "last_seen_ts": row["last_seen_ts"],
        "attributes": {**(row["attributes"] or {}), **summary["attributes"]},
        "conversations": [conversation_summary(c) for c in history],
        "pages": state.trail,
    }


@routes.route(
    "GET", "/sites/{site_id}/visitors/{visitor_id}/why", roles=CONTEXT_ROLES, tags=["visitors"]
)
async def why(ctx: Context) -> dict[str, Any]:
    """The engine's trace for this visitor now: which rules would fire, and why not."""
    site, row = await _visitor(ctx)
    state = await visitor_state.load(ctx.services.broker, row["id"])
    rule_set, compiled, _versions = await ctx.request.app.state.rules.get(site["id"])
    context = await ctx.request.app.state.loads.context(site)
    decision = evaluate(state.facts, rule_set, state.counters, context, time.time(), explain=True)
    timeline = await decisions.timeline(
        ctx.services.db, site["id"], row["id"], limit=MAX_CHANGES_PER_VISIT
    )
    for change in timeline:
        rule = compiled.get(change["rule_id"])
        change["rule_name"] = rule.name if rule is not None else None
    return {
        "visitor_id": row["id"],
        "blocked": decision.blocked,
        # Decisions over time: each change of this visitor's outcome per rule, oldest first.
        "timeline": timeline,
        "items": [
            {
                "rule_id": t.rule_id,
                "rule_name": compiled[t.rule_id].name if t.rule_id in compiled else None,
                "outcome": t.outcome,
                "reason": t.detail,
                "variant_id": t.variant_id,
            }
            for t in decision.trace
        ],
    }


@routes.route("GET", "/sites/{site_id}/agents", roles=ANY_ROLE, tags=["visitors"])
async def site_agents(ctx: Context) -> dict[str, Any]:
    """The site's team with who is online now (for transfers)."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    states = {a.agent_id: a for a in await presence.agents(ctx.services.broker, site["id"])}
    from sqlalchemy import select

    query = (
        select(
            users.c.id,
            users.c.display_name,
            users.c.avatar_url,
            users.c.title,
            users.c.email,
            users.c.role,
            users.c.departments,
            users.c.capacity,
        )
        .join(site_members, site_members.c.user_id == users.c.id)
        .where(site_members.c.site_id == site["id"], users.c.active.is_(True))
        .order_by(users.c.display_name)
    )
    async with ctx.services.db.read() as conn:
        rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    return {
        "items": [
            {
                **r,
                "status": states[r["id"]].status if r["id"] in states else "offline",
                "load": states[r["id"]].load if r["id"] in states else 0,
            }
            for r in rows
        ],
        "next_cursor": None,
    }
