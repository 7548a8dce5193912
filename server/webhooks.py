"""Webhooks: the event kinds, signing, and the domain-event listener that fills the outbox.

Flow: an event is emitted (after its data is committed) → `WebhookListener` writes one
outbox row per subscribed endpoint, with the exact JSON body to send → the node's
`DeliveryWorker` claims due rows (a lease in one conditional UPDATE, so exactly one
node sends each attempt), POSTs them signed, and records each attempt
(`server/webhook_worker.py`; target checks in `server/webhook_targets.py`).

Known window: the emit points fire *after* their own transaction commits and the
listener writes the outbox in a second transaction, so a node dying between the two
loses that event's deliveries (the data itself is safe). `enqueue_event(conn, …)`
takes a connection so an emit point can call it inside its data transaction instead —
then event and outbox row commit together. Once written, a delivery survives restarts.

Signing (protocol.md, REST): `X-Beckon-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret,
"<t>.<raw body>")>`, where the key is the endpoint's secret as UTF-8 bytes and `t` is
the time of the attempt (receivers reject `t` older than 5 minutes).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from server.announced_cache import AnnouncedCache
from server.chat import conversations, messages
from server.chat.payloads import conversation_summary, message_frame
from server.events import EventBus
from server.ids import new_id, now_ms
from server.store import outbox
from server.store.database import Database

if TYPE_CHECKING:
    from server.webhook_worker import DeliveryWorker

log = logging.getLogger("beckon.webhooks")

EVENTS = (
    "conversation.started",
    "conversation.closed",
    "conversation.missed",
    "message.created",
    "invitation.accepted",
    "offline_message.created",
    "survey.submitted",
    "conversion.recorded",
    "visitor.erased",
)
TEST_EVENT = "webhook.test"
USER_AGENT = "Beckon-Webhooks/1"


# -- signing ---------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def sign(secret: str, body: bytes, t: int) -> str:
    """The X-Beckon-Signature header value for `body` sent at unix second `t`."""
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


# -- target checks (SSRF) --------------------------------------------------------------

# -- the listener: events → outbox -----------------------------------------------------


async def _event_data(db: Database, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The `data` of the payload: the emitted fields, plus the records they name."""
    out = {k: v for k, v in data.items() if k != "origin"}
    conv_id = data.get("conversation_id")
    if kind in ("conversation.started", "conversation.closed", "conversation.missed") and conv_id:
        conv = await conversations.get(db, conv_id)
        if conv is not None:
            out["conversation"] = conversation_summary(conv)
    if kind == "conversation.closed" and conv_id:
        transcript: list[dict[str, Any]] = []
        after = 0
        while True:  # internal notes stay inside Beckon
            rows = await messages.after(db, conv_id, after, include_internal=False, limit=500)
            transcript += [message_frame(r) for r in rows]
            if len(rows) < 500:
                break
            after = rows[-1]["seq"]
        out["transcript"] = transcript
    return out


def _with_media_urls(
    data: dict[str, Any], site_id: str, sign: Callable[[dict[str, Any], str], dict[str, Any]]
) -> dict[str, Any]:
    """Each attachment of the payload's messages with a URL signed for the site's agents
    (server/media/uploads.py `Media.sign`)."""
    frames = [data["message"]] if isinstance(data.get("message"), dict) else []
    frames += data.get("transcript") or []
    for frame in frames:
        if frame.get("attachments"):
            frame["attachments"] = [sign(item, f"s:{site_id}") for item in frame["attachments"]]
    return data


def envelope(event_id: str, kind: str, site_id: str, ts: int, data: dict[str, Any]) -> bytes:
    payload = {"id": event_id, "type": kind, "created_ts": ts, "site_id": site_id, "data": data}
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)


async def enqueue_event(
    conn: Any, kind: str, site_id: str, data: dict[str, Any], ts: int
) -> list[str]:
    """Write the outbox rows of one event on `conn` (the caller's transaction)."""
    hooks = await outbox.subscribers(conn, site_id, kind)
    if not hooks:
        return []
    event_id = new_id("ev")
    body = envelope(event_id, kind, site_id, ts, data).decode()
    rows = [
        {
            "id": new_id("wd"),
            "webhook_id": hook["id"],
            "site_id": site_id,
            "event": kind,
            "event_id": event_id,
            "body": body,
            "created_ts": ts,
        }
        for hook in hooks
    ]
    await outbox.enqueue(conn, rows)
    return [r["id"] for r in rows]


async def enqueue_test(conn: Any, webhook: dict[str, Any], ts: int) -> str:
    event_id = new_id("ev")
    data = {"message": "This is a test delivery from Beckon.", "webhook_id": webhook["id"]}
    row = {
        "id": new_id("wd"),
        "webhook_id": webhook["id"],
        "site_id": webhook["site_id"],
        "event": TEST_EVENT,
        "event_id": event_id,
        "body": envelope(event_id, TEST_EVENT, webhook["site_id"], ts, data).decode(),
        "created_ts": ts,
    }
    await outbox.enqueue(conn, [row])
    return row["id"]


WEBHOOKS_CHANNEL = "webhooks-changed"  # payload: the site id, as bytes


class WebhookListener:
    """Listens to every webhook event kind and writes the deliveries to the outbox.

    Which events each site's endpoints want is cached per node (every chat message is an
    event; reading the endpoints for each would cost a query per message); a change on
    any node is announced on `WEBHOOKS_CHANNEL` (`server/announced_cache.py`).
    """

    BATCH = 200

    def __init__(
        self,
        db: Database,
        worker: DeliveryWorker,
        sign_media: Callable[[dict[str, Any], str], dict[str, Any]] | None = None,
    ) -> None:
        self.db = db
        self.worker = worker
        self.sign_media = sign_media
        self.wanted: AnnouncedCache[frozenset[str]] = AnnouncedCache(
            WEBHOOKS_CHANNEL, self._load_wanted
        )
        # Wanted events not yet in the outbox, and the task writing them. The event bus
        # hands this listener one event at a time; writing each in its own transaction
        # would let a busy site's `message.created` fall behind the chat (and the bus
        # drops what is too far behind), so they are written in batches, one
        # transaction each, by a task that runs while there is something to write.
        self._pending: list[tuple[str, str, dict[str, Any], int]] = []
        self._writer: asyncio.Task[None] | None = None

    async def _load_wanted(self, site_id: str) -> frozenset[str]:
        async with self.db.read() as conn:
            rows = await outbox.list_webhooks(conn, site_id)
        return frozenset(k for r in rows if r["active"] for k in (r["events"] or []))

    def attach(self, events: EventBus) -> None:
        for kind in EVENTS:
            events.on(kind, self.on_event)

    async def on_event(self, kind: str, data: dict[str, Any]) -> None:
        site_id = data.get("site_id")
        if not site_id:
            log.warning("%s event without site_id; no webhook can be chosen", kind)
            return
        if kind not in await self.wanted.get(site_id):
            return  # the common case: no endpoint wants it, nothing to build
        self._pending.append((kind, site_id, data, now_ms()))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_pending())

    async def _data(self, kind: str, site_id: str, data: dict[str, Any]) -> dict[str, Any]:
        out = await _event_data(self.db, kind, data)
        if self.sign_media is not None:
            out = _with_media_urls(copy.deepcopy(out), site_id, self.sign_media)
        return out

    async def flush(self) -> None:
        """Wait until every event handed to `on_event` so far is in the outbox."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.BATCH]
                del self._pending[: len(batch)]
                try:
                    payloads = [
                        (kind, site_id, await self._data(kind, site_id, data), ts)
                        for kind, site_id, data, ts in batch
                    ]
                    async with self.db.write() as conn:
                        ids = [
                            delivery
                            for kind, site_id, payload, ts in payloads
                            for delivery in await enqueue_event(conn, kind, site_id, payload, ts)
                        ]
                except Exception:
                    # As when each event had its own task: the store is down or the event
                    # is broken; logged, and later events still go.
                    log.exception("%d webhook events not written to the outbox", len(batch))
                    continue
                if ids:
                    self.worker.wake()
        finally:
            self._writer = None
