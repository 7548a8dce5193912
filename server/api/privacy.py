"""A visitor's access and erasure requests over REST (docs/privacy.md).

`POST /sites/{site_id}/privacy/export` answers every record Beckon holds about one
person as one JSON document; `POST /sites/{site_id}/privacy/erase` deletes them from the
Store, the search index and the Broker and closes their sockets on every node. The
person is named by exactly one of `visitor_id`, `email` or `user_id` (the external id
of `identify`) — in the body, so an email never lands in an access log.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from pydantic import Field, model_validator

from invitations import facts_to_dict
from server.api.access import site_for
from server.api.models import Strict
from server.api.router import ApiRouter, Context
from server.chat import visitor_state
from server.client_address import scope_client_ip
from server.errors import ApiError
from server.ids import now_ms
from server.media.storage import MediaUnavailable
from server.privacy import erase as eraser
from server.privacy import files, live, records

log = logging.getLogger("beckon.privacy")
routes = ApiRouter()
ADMIN = frozenset({"admin"})
EXPORTERS = frozenset({"admin", "agent"})
EXPORT_FORMAT = "beckon.visitor-export/1"


class SubjectIn(Strict):
    visitor_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    email: Annotated[str, Field(min_length=3, max_length=254)] | None = None
    user_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SubjectIn:
        given = [v for v in (self.visitor_id, self.email, self.user_id) if v is not None]
        if len(given) != 1:
            raise ValueError("name the visitor by exactly one of visitor_id, email, user_id")
        return self

    def subject(self) -> records.Subject:
        return records.Subject(self.visitor_id, self.email, self.user_id)


def _audit(
    ctx: Context, action: str, site_id: str, subject: records.Subject, ids: list[str]
) -> None:
    """The one call point for the audit log: who asked, from where, about whom."""
    ctx.request.app.state.events.emit(
        "privacy.request",
        {
            "site_id": site_id,
            "action": action,  # "export" or "erase"
            "actor_id": ctx.user.id,
            "actor_role": ctx.user.role,
            "ip": scope_client_ip(ctx.request.scope, ctx.services.settings.trusted_proxies),
            "visitor_ids": ids,
            "ts": now_ms(),
        },
    )


async def _find(conn: Any, site_id: str, subject: records.Subject) -> records.Found:
    try:
        return await records.find(conn, site_id, subject)
    except records.TooMany:
        raise ApiError(
            "conflict",
            f"more than {records.MAX_VISITORS} visitors match {subject.describe()}; "
            "name one visitor_id at a time",
        ) from None


def _nothing(subject: records.Subject) -> ApiError:
    return ApiError("not_found", f"Beckon holds no records of {subject.describe()} on this site")


@routes.route(
    "POST", "/sites/{site_id}/privacy/export", roles=EXPORTERS, body=SubjectIn, tags=["privacy"]
)
async def export_visitor(ctx: Context) -> dict[str, Any]:
    """Every record about one person on the site, as one JSON document."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    subject = ctx.body.subject()
    async with ctx.services.db.read() as conn:
        found = await _find(conn, site["id"], subject)
        data = await records.read_all(conn, found)
    if not any(data.values()):
        raise _nothing(subject)
    data["attachments"] = files.exported(
        ctx.request.app.state.media, data["attachments"], site["id"], int(time.time())
    )
    live_state = []
    for visitor_id in found.visitor_ids:
        raw = await ctx.services.broker.state_get(visitor_state.key(visitor_id))
        if raw is not None:
            state = await visitor_state.load(ctx.services.broker, visitor_id)
            live_state.append(
                {
                    "visitor_id": visitor_id,
                    "facts": facts_to_dict(state.facts),
                    "counters": state.counters.to_dict(),
                }
            )
    _audit(ctx, "export", site["id"], subject, found.visitor_ids)
    return {
        "format": EXPORT_FORMAT,
        "site_id": site["id"],
        "exported_ts": int(time.time() * 1000),
        "subject": ctx.body.model_dump(exclude_none=True),
        "records": {**data, "live_state": live_state},
    }


@routes.route(
    "POST", "/sites/{site_id}/privacy/erase", roles=ADMIN, body=SubjectIn, tags=["privacy"]
)
async def erase_visitor(ctx: Context) -> dict[str, Any]:
    """Erase one person from the site: Store, search index, live state, open sockets."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    subject = ctx.body.subject()
    media = ctx.request.app.state.media
    # Their files' bytes first (outside the write transaction: storage may be remote); a
    # storage that cannot be reached stops the erasure before anything is erased.
    async with ctx.services.db.read() as conn:
        before = await _find(conn, site["id"], subject)
        stored = await files.rows_of(conn, before.conversation_ids)
    try:
        await files.remove(media, stored)
    except MediaUnavailable:
        raise ApiError(
            "unavailable", "file storage is unavailable; nothing was erased, retry shortly"
        ) from None
    async with ctx.services.db.write() as conn:
        found = await _find(conn, site["id"], subject)
        done = await eraser.erase(conn, found, now_ms())
    # Files uploaded between the two steps: their rows are gone, their bytes go now.
    removed = {row["id"] for row in stored}
    try:
        await files.remove(media, [r for r in done.attachments if r["id"] not in removed])
    except MediaUnavailable as exc:
        log.warning("erasure: files uploaded meanwhile left in storage: %s", exc)
    if not found.visitor_ids and not any(done.counts.values()):
        raise _nothing(subject)
    sockets_told = await live.forget(
        ctx.request.app.state.dispatch,
        site["id"],
        done.visitor_ids,
        done.conversation_ids,
        done.open_conversations,
    )
    for visitor_id in done.visitor_ids:
        ctx.request.app.state.events.emit(
            "visitor.erased", {"site_id": site["id"], "visitor_id": visitor_id}
        )
    _audit(ctx, "erase", site["id"], subject, done.visitor_ids)
    return {
        "site_id": site["id"],
        "visitor_ids": done.visitor_ids,
        "conversations": len(done.conversation_ids),
        "deleted": {k: v for k, v in sorted(done.counts.items()) if k != "anonymised"},
        "anonymised": done.counts.get("anonymised", 0),
        "sockets_notified": sockets_told,
    }
