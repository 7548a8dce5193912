"""`/sites/{site_id}/webhooks`: endpoints, their delivery log, and a test send (admins).

The signing secret is returned once, by the POST that creates the endpoint; lists show
only its last four characters.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request

from server.api.access import site_for
from server.api.models import Strict
from server.api.query import DeliveriesQuery
from server.api.router import ApiRouter, Context
from server.errors import ApiError
from server.ids import new_id, now_ms
from server.store import outbox
from server.webhook_targets import validate_target
from server.webhooks import EVENTS, enqueue_test, new_secret

routes = ApiRouter()
ADMIN = frozenset({"admin"})
EventKind = Literal[
    "conversation.started",
    "conversation.closed",
    "conversation.missed",
    "message.created",
    "invitation.accepted",
    "offline_message.created",
    "survey.submitted",
    "conversion.recorded",
    "visitor.erased",
]
assert set(EventKind.__args__) == set(EVENTS)  # type: ignore[attr-defined]


class WebhookIn(Strict):
    url: Annotated[str, Field(min_length=8, max_length=2000)]
    events: Annotated[list[EventKind], Field(min_length=1, max_length=len(EVENTS))]
    description: Annotated[str, Field(max_length=200)] = ""


class WebhookOut(BaseModel):
    id: str
    site_id: str
    url: str
    description: str
    events: list[str]
    active: bool
    paused: bool
    paused_ts: int | None
    paused_reason: str | None
    failures: int = Field(description="failed attempts in a row")
    created_ts: int
    secret_hint: str
    secret: str | None = Field(None, description="only in the answer that created it")


class WebhookResumed(WebhookOut):
    waiting: int = Field(description="deliveries that waited, now due at once")


class WebhookList(BaseModel):
    items: list[WebhookOut]
    next_cursor: None
    events: list[str]


class Attempt(BaseModel):
    ts: int
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str
    event: str
    event_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_ts: int
    next_attempt_ts: int | None
    delivered_ts: int | None
    attempt_log: list[Attempt]


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def webhook_out(row: dict[str, Any], secret: bool = False) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "site_id": row["site_id"],
        "url": row["url"],
        "description": row["description"],
        "events": row["events"],
        "active": bool(row["active"]),
        # Paused (by an admin, or after BECKON_WEBHOOK_PAUSE_AFTER failures in a row):
        # nothing is sent, deliveries wait until resumed.
        "paused": row.get("paused_ts") is not None,
        "paused_ts": row.get("paused_ts"),
        "paused_reason": row.get("paused_reason"),
        "failures": int(row.get("failures") or 0),
        "created_ts": row["created_ts"],
        "secret_hint": "…" + row["secret"][-4:],
    }
    if secret:
        out["secret"] = row["secret"]
    return out


def delivery_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event": row["event"],
        "event_id": row["event_id"],
        "status": row["status"],
        "attempts": row["attempts"],
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        "created_ts": row["created_ts"],
        "next_attempt_ts": row["next_attempt_ts"] if row["status"] == outbox.PENDING else None,
        "delivered_ts": row["delivered_ts"],
        "attempt_log": [
            {
                "ts": a["ts"],
                "status_code": a["status_code"],
                "error": a["error"],
                "duration_ms": a["duration_ms"],
            }
            for a in row["attempt_log"]
        ],
    }


async def _announce(ctx: Context, site_id: str) -> None:
    """Every node's listener re-reads the site's endpoints (this one at once)."""
    listener = getattr(ctx.request.app.state, "webhook_listener", None)
    if listener is not None:
        await listener.wanted.announce(ctx.services.broker, site_id)


async def _webhook(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    async with ctx.services.db.read() as conn:
        hook = await outbox.get_webhook(conn, site["id"], ctx.params["webhook_id"])
    if hook is None:
        raise ApiError("not_found", "no such webhook")
    return site, hook


def _wake_worker(request: Request) -> None:
    worker = getattr(request.app.state, "webhook_worker", None)
    if worker is not None:
        worker.wake()


@routes.route(
    "GET", "/sites/{site_id}/webhooks", roles=ADMIN, response=WebhookList, tags=["webhooks"]
)
async def list_webhooks(ctx: Context) -> dict[str, Any]:
    """The site's webhook endpoints (secrets are not shown again)."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    async with ctx.services.db.read() as conn:
        rows = await outbox.list_webhooks(conn, site["id"])
    return {"items": [webhook_out(r) for r in rows], "next_cursor": None, "events": list(EVENTS)}


@routes.route(
    "POST",
    "/sites/{site_id}/webhooks",
    roles=ADMIN,
    body=WebhookIn,
    response=WebhookOut,
    status=201,
    tags=["webhooks"],
)
async def post_webhook(ctx: Context) -> dict[str, Any]:
    """Add an endpoint; the answer carries its signing secret, shown this once."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    body: WebhookIn = ctx.body
    await validate_target(body.url, ctx.services.settings.allow_private_targets)
    row = {
        "id": new_id("wh"),
        "site_id": site["id"],
        "url": body.url,
        "description": body.description,
        "events": list(dict.fromkeys(body.events)),
        "secret": new_secret(),
        "active": True,
        "created_ts": now_ms(),
        "created_by": ctx.user.id,
    }
    async with ctx.services.db.write() as conn:
        await outbox.insert_webhook(conn, row)
    await _announce(ctx, site["id"])
    return webhook_out(row, secret=True)


@routes.route("DELETE", "/sites/{site_id}/webhooks/{webhook_id}", roles=ADMIN, tags=["webhooks"])
async def delete_webhook(ctx: Context) -> dict[str, Any]:
    """Remove an endpoint and its pending deliveries."""
    _site, hook = await _webhook(ctx)
    async with ctx.services.db.write() as conn:
        await outbox.delete_webhook(conn, hook["id"])
    await _announce(ctx, hook["site_id"])
    return {"ok": True, "id": hook["id"]}


@routes.route(
    "POST",
    "/sites/{site_id}/webhooks/{webhook_id}/test",
    roles=ADMIN,
    status=202,
    tags=["webhooks"],
)
async def test_webhook(ctx: Context) -> dict[str, Any]:
    """Queue a signed `webhook.test` delivery; watch its outcome in the delivery log."""
    _site, hook = await _webhook(ctx)
    async with ctx.services.db.write() as conn:
        delivery_id = await enqueue_test(conn, hook, now_ms())
    _wake_worker(ctx.request)
    return {"delivery_id": delivery_id}


@routes.route(
    "POST",
    "/sites/{site_id}/webhooks/{webhook_id}/pause",
    roles=ADMIN,
    response=WebhookOut,
    tags=["webhooks"],
)
async def pause_webhook(ctx: Context) -> dict[str, Any]:
    """Stop sending to the endpoint; its deliveries wait until it is resumed."""
    _site, hook = await _webhook(ctx)
    async with ctx.services.db.write() as conn:
        await outbox.pause(conn, hook["id"], now_ms(), f"paused by {ctx.user.user['email']}")
        hook = await outbox.get_webhook(conn, hook["site_id"], hook["id"])
    assert hook is not None
    return webhook_out(hook)


@routes.route(
    "POST",
    "/sites/{site_id}/webhooks/{webhook_id}/resume",
    roles=ADMIN,
    response=WebhookResumed,
    tags=["webhooks"],
)
async def resume_webhook(ctx: Context) -> dict[str, Any]:
    """Send to the endpoint again, starting at once with every delivery that waited."""
    _site, hook = await _webhook(ctx)
    async with ctx.services.db.write() as conn:
        waiting = await outbox.resume(conn, hook["id"], now_ms())
        hook = await outbox.get_webhook(conn, hook["site_id"], hook["id"])
    assert hook is not None
    _wake_worker(ctx.request)
    return {**webhook_out(hook), "waiting": waiting}


@routes.route(
    "GET",
    "/sites/{site_id}/webhooks/{webhook_id}/deliveries",
    roles=ADMIN,
    query=DeliveriesQuery,
    response=DeliveryList,
    tags=["webhooks"],
)
async def list_deliveries(ctx: Context) -> dict[str, Any]:
    """Newest deliveries first, each with every attempt's status code or error."""
    _site, hook = await _webhook(ctx)
    args: DeliveriesQuery = ctx.args
    limit, before = args.limit, args.cursor
    async with ctx.services.db.read() as conn:
        rows = await outbox.deliveries(conn, hook["id"], limit + 1, int(before) if before else None)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [delivery_out(r) for r in rows],
        "next_cursor": str(rows[-1]["created_ts"]) if more else None,
    }
