"""`POST /sites/{site_id}/events`: behaviour and conversions from the site's backend
(e.g. the shop posts an order), by visitor id or by the identified user's id."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator
from sqlalchemy import select

from invitations import apply_event
from invitations.signals import SignalCapped
from server.api.access import site_for
from server.api.models import Strict
from server.api.router import ANY_ROLE, ApiRouter, Context
from server.chat import attribution, visitor_state
from server.chat.proactive import online_group
from server.errors import ApiError
from server.hub.hub import visitor_channel
from server.ids import now_ms
from server.store.tables import visitors
from server.wire.errors import FrameError
from server.wire.frames import parse_visitor_frame

routes = ApiRouter()
BEHAVIOUR = frozenset({"page_view", "track", "cart", "attributes"})


class SiteEventIn(Strict):
    visitor_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    user_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    event: dict[str, Any]

    @model_validator(mode="after")
    def _who(self) -> SiteEventIn:
        if (self.visitor_id is None) == (self.user_id is None):
            raise ValueError("give exactly one of visitor_id and user_id")
        return self


async def _resolve(ctx: Context, site_id: str, body: SiteEventIn) -> str | None:
    column = visitors.c.id if body.visitor_id else visitors.c.user_id
    query = (
        select(visitors.c.id)
        .where(visitors.c.site_id == site_id, column == (body.visitor_id or body.user_id))
        .order_by(visitors.c.last_seen_ts.desc())
        .limit(1)
    )
    async with ctx.services.db.read() as conn:
        found = (await conn.execute(query)).first()
    return found[0] if found else None


@routes.route(
    "POST", "/sites/{site_id}/events", roles=ANY_ROLE, body=SiteEventIn, status=202, tags=["events"]
)
async def post_event(ctx: Context) -> dict[str, Any]:
    """Record a behaviour event or a conversion for a visitor; live visitors are
    re-evaluated by the node that holds their socket."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    body: SiteEventIn = ctx.body
    try:
        frame = parse_visitor_frame(body.event)
    except FrameError as exc:
        raise ApiError(
            "validation_failed",
            "the event is not valid",
            details=[{"path": "event", "message": exc.message}],
        ) from None
    if frame.type not in BEHAVIOUR:
        raise ApiError(
            "validation_failed",
            "the event is not valid",
            details=[
                {"path": "event.type", "message": "expected page_view, track, cart or attributes"}
            ],
        )
    visitor_id = await _resolve(ctx, site["id"], body)
    data = frame.model_dump(mode="json", exclude={"type", "ref"}, exclude_none=True)
    now = now_ms()
    conversion = None
    if frame.type == "track" and frame.event == "conversion":
        try:
            conversion = await attribution.record(
                ctx.services,
                ctx.request.app.state.events,
                site,
                visitor_id,
                body.user_id,
                data.get("props") or {},
                now,
                client_reported=False,  # the site's backend, with its API token
            )
        except attribution.DuplicateOrder as exc:
            raise ApiError("conflict", f"order {exc} was already recorded") from None
    if visitor_id is None:
        if conversion is None:
            raise ApiError("not_found", "no such visitor on this site")
        return {"accepted": True, "visitor_id": None, "conversion": conversion}
    event = {"type": frame.type, **data}
    state = await visitor_state.load(ctx.services.broker, visitor_id)
    try:  # checked here even when the visitor's socket applies it: a capped signal is 429
        facts = apply_event(state.facts, event, now / 1000)
    except SignalCapped as exc:
        raise ApiError(exc.code, str(exc)) from None
    except ValueError:  # as on the socket: a valid frame the engine cannot apply is skipped
        facts = state.facts
    ctx.services.visit_log.append(site["id"], visitor_id, now, frame.type, data)
    online = await ctx.services.broker.presence_members(online_group(site["id"]))
    if visitor_id in online:
        await ctx.request.app.state.hub.publish(
            visitor_channel(visitor_id), "server_event", {"event": event}
        )
    else:
        state.facts = facts
        await visitor_state.save(ctx.services.broker, state)
    return {"accepted": True, "visitor_id": visitor_id, "conversion": conversion}
