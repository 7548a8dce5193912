"""Webhooks: the domain-event listener that fills the outbox, and the delivery worker.

Flow: an event is emitted (after its data is committed) → `WebhookListener` writes one
outbox row per subscribed endpoint, with the exact JSON body to send → the node's
`DeliveryWorker` claims due rows (a lease in one conditional UPDATE, so exactly one
node sends each attempt), POSTs them signed, and records each attempt.

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
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from server.announced_cache import AnnouncedCache
from server.chat import conversations, messages
from server.chat.payloads import conversation_summary, message_frame
from server.errors import ApiError
from server.events import EventBus
from server.ids import new_id, now_ms
from server.settings import SettingsError
from server.store import outbox
from server.store.database import Database, StoreUnavailable

log = logging.getLogger("beckon.webhooks")

EVENTS = (
    "conversation.started",
    "conversation.closed",
    "message.created",
    "invitation.accepted",
    "offline_message.created",
    "survey.submitted",
    "conversion.recorded",
)
TEST_EVENT = "webhook.test"
USER_AGENT = "Beckon-Webhooks/1"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Delivery timing (seconds). Retries wait `retry_base_s × 2^n`, at most
    `max_delay_s`, and stop `give_up_after_s` after the event."""

    retry_base_s: float = 10.0
    max_delay_s: float = 3600.0
    give_up_after_s: float = 24 * 3600.0
    timeout_s: float = 10.0
    lease_s: float = 30.0
    poll_s: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebhookConfig:
        """Read BECKON_WEBHOOK_RETRY_BASE_S and BECKON_WEBHOOK_POLL_S (tests shorten
        them); raises SettingsError naming a bad variable."""
        env = os.environ if env is None else env
        values: dict[str, float] = {}
        for name, key, lo, hi in (
            ("BECKON_WEBHOOK_RETRY_BASE_S", "retry_base_s", 0.05, 3600.0),
            ("BECKON_WEBHOOK_POLL_S", "poll_s", 0.05, 60.0),
        ):
            if name in env:
                try:
                    number = float(env[name])
                except ValueError:
                    raise SettingsError(f"{name}: expected a number, got {env[name]!r}") from None
                if not lo <= number <= hi:
                    raise SettingsError(f"{name}: {number} is outside {lo}..{hi}")
                values[key] = number
        return cls(**values)

    def retry_delay_s(self, attempts_made: int) -> float:
        return min(self.retry_base_s * 2 ** max(0, attempts_made - 1), self.max_delay_s)


# -- signing ---------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def sign(secret: str, body: bytes, t: int) -> str:
    """The X-Beckon-Signature header value for `body` sent at unix second `t`."""
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


# -- target checks (SSRF) --------------------------------------------------------------


class TargetRefused(Exception):
    """The URL is not an allowed webhook target; the message says why."""


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url_shape(url: str) -> None:
    """Raise TargetRefused unless `url` is http(s)://host[:port]/… without credentials."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("the URL must start with https:// or http://")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials")
    if parts.fragment:
        raise TargetRefused("the URL must not have a #fragment")


async def resolve_target(url: str, allow_private: bool) -> list[str]:
    """The addresses `url`'s host resolves to, all of them allowed; else TargetRefused.

    Called at save time and again before every attempt (DNS rebinding); the request is
    then sent to the vetted address, so a second lookup cannot swap it.
    """
    check_url_shape(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise TargetRefused(f"cannot resolve {host}: {exc.strerror or exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefused(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            if _forbidden(ipaddress.ip_address(address.split("%", 1)[0])):
                raise TargetRefused(
                    f"{host} resolves to {address}, a private, loopback, link-local or "
                    "reserved address; such targets are refused"
                )
    return addresses


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL rewritten to `address`, with the Host header and TLS name of the original."""
    parts = urlsplit(url)
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return target, {"Host": parts.netloc}, extensions


# -- the listener: events → outbox -----------------------------------------------------


async def _event_data(db: Database, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The `data` of the payload: the emitted fields, plus the records they name."""
    out = {k: v for k, v in data.items() if k != "origin"}
    conv_id = data.get("conversation_id")
    if kind in ("conversation.started", "conversation.closed") and conv_id:
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

    def __init__(self, db: Database, worker: DeliveryWorker) -> None:
        self.db = db
        self.worker = worker
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
                        (kind, site_id, await _event_data(self.db, kind, data), ts)
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


# -- the worker: outbox → HTTP ---------------------------------------------------------


class DeliveryWorker:
    """One per node: claims due deliveries, sends them, records the outcome."""

    BATCH = 20

    def __init__(self, db: Database, config: WebhookConfig, allow_private: bool) -> None:
        self.db = db
        self.config = config
        self.allow_private = allow_private
        self.node = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._stopping = False  # set by `finish`: claim nothing more

    def start(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.config.timeout_s),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    def wake(self) -> None:
        """A row was just written on this node: look now rather than at the next poll."""
        self._wake.set()

    async def finish(self) -> None:
        """Shutdown: claim nothing more and wait for the deliveries in flight, so each
        is recorded (delivered, or due again) instead of waiting out its lease on
        another node. The caller bounds the wait; `close` then cancels what is left."""
        self._stopping = True
        self._wake.set()
        if self._task is not None and not self._task.done():
            await asyncio.wait((self._task,))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while not self._stopping:
            busy = False
            try:
                busy = await self.run_once()
            except StoreUnavailable as exc:
                log.warning("webhook worker: store unavailable: %s", exc)
            except Exception:
                log.exception("webhook worker pass failed")
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), await self._idle_s())
            self._wake.clear()

    async def _idle_s(self) -> float:
        try:
            async with self.db.read() as conn:
                due = await outbox.next_due_ts(conn)
        except Exception:
            return self.config.poll_s
        now = now_ms()
        if due is None or due <= now:  # nothing, or due but leased by another node
            return self.config.poll_s
        return max(0.01, min(self.config.poll_s, (due - now) / 1000))

    async def run_once(self) -> bool:
        """Claim and send what is due now; True when anything was sent."""
        now = now_ms()
        async with self.db.read() as conn:
            ids = await outbox.due_ids(conn, now, self.BATCH)
        claimed = []
        lease_ms = int(self.config.lease_s * 1000)
        for delivery_id in ids:
            if self._stopping:
                break
            async with self.db.write() as conn:
                row = await outbox.claim(conn, delivery_id, self.node, now_ms(), lease_ms)
            if row is not None:
                claimed.append(row)
        await asyncio.gather(*(self._deliver(row) for row in claimed))
        return bool(claimed)

    async def _deliver(self, delivery: dict[str, Any]) -> None:
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            status_code = await self._send(delivery)
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except TargetRefused as exc:
            error = f"refused: {exc}"
        except httpx.TimeoutException:
            error = f"timed out after {self.config.timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        duration_ms = int((time.monotonic() - started) * 1000)
        now = now_ms()
        attempts = int(delivery["attempts"]) + 1
        next_ts = None
        if error is None:
            outcome = outbox.DELIVERED
        else:
            next_ts = now + int(self.config.retry_delay_s(attempts) * 1000)
            give_up_at = delivery["created_ts"] + int(self.config.give_up_after_s * 1000)
            outcome = outbox.FAILED if next_ts > give_up_at else outbox.PENDING
        async with self.db.write() as conn:
            kept = await outbox.finish_attempt(
                conn,
                delivery,
                self.node,
                now=now,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
                outcome=outcome,
                next_attempt_ts=next_ts,
            )
        if not kept:
            log.warning("delivery %s: lease expired during the attempt", delivery["id"])
        if next_ts is not None and outcome == outbox.PENDING:
            log.info("delivery %s failed (%s); retry at %d", delivery["id"], error, next_ts)

    async def _send(self, delivery: dict[str, Any]) -> int:
        assert self._client is not None, "start() opens the client"
        addresses = await resolve_target(delivery["url"], self.allow_private)
        target, headers, extensions = _pinned(delivery["url"], addresses[0])
        body = delivery["body"].encode()
        headers.update(
            {
                "Content-Type": "application/json",
                "X-Beckon-Signature": sign(delivery["secret"], body, int(time.time())),
                "X-Beckon-Delivery": delivery["id"],
                "X-Beckon-Event": delivery["event"],
            }
        )
        async with self._client.stream(
            "POST", target, content=body, headers=headers, extensions=extensions
        ) as response:
            return response.status_code


async def validate_target(url: str, allow_private: bool) -> None:
    """For the REST API: TargetRefused becomes a 422 at the `url` field."""
    try:
        await resolve_target(url, allow_private)
    except TargetRefused as exc:
        raise ApiError(
            "validation_failed",
            "the webhook URL is not allowed",
            details=[{"path": "url", "message": str(exc)}],
        ) from None
