"""What both socket kinds share: reading frames with limits, rate limiting, errors.

Close codes (protocol.md): 1009 frame over 64 KiB, 4429 repeated abuse after
`rate_limited`, 1013 the Store or the Broker failed before frames could be answered
(the hello). A bad frame gets an `error` and the connection stays open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.broker.base import BrokerUnavailable
from server.errors import ApiError
from server.hub.connection import CLOSE_UNAVAILABLE, Connection
from server.hub.ratelimit import Abuse, TokenBucket
from server.store.database import StoreUnavailable
from server.wire.codec import MAX_FRAME_BYTES, decode_frame, error_frame
from server.wire.errors import FrameError

log = logging.getLogger("beckon.hub")

CLOSE_TOO_BIG = 1009
CLOSE_ABUSE = 4429
FRAMES_PER_S = 20.0
FRAME_BURST = 40.0


class Refused(Exception):
    """A frame was understood but cannot be done; becomes an `error` frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def receive_text(ws: WebSocket) -> str | None:
    """The next text frame, None when the peer has gone. Binary frames raise FrameError."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        return None
    if message.get("text") is not None:
        return message["text"]
    raise FrameError("invalid_frame", "binary frames are not accepted; send JSON text")


async def run_frames(
    ws: WebSocket,
    conn: Connection,
    parse: Callable[[dict[str, Any]], Any],
    handle: Callable[[Any], Awaitable[None]],
) -> None:
    """Read, validate and dispatch frames until the socket closes."""
    bucket = TokenBucket(FRAMES_PER_S, FRAME_BURST)
    abuse = Abuse.default()
    metrics = conn.metrics
    while not conn.closed:
        ref = None
        try:
            text = await receive_text(ws)
            if text is None:
                return
            if len(text) > MAX_FRAME_BYTES and len(text.encode()) > MAX_FRAME_BYTES:
                await conn.close(CLOSE_TOO_BIG, "frame over 64 KiB")
                return
            now = time.monotonic()
            if not bucket.take(now):
                if abuse.strike(now):
                    await conn.close_after_queued(CLOSE_ABUSE, "too many frames")
                    return
                raise FrameError("rate_limited", "slow down: too many frames", _ref_of(text))
            obj = decode_frame(text)
            ref = obj.get("ref")
            frame = parse(obj)
            metrics.frames_in.labels(obj["type"]).inc()
            await handle(frame)
            if obj["type"] == "message":  # its ack is queued by the time handle returns
                metrics.ack_latency.labels(conn.kind).observe(time.monotonic() - now)
        except WebSocketDisconnect:
            return
        except FrameError as exc:
            _send_error(conn, exc.code, exc.message, exc.ref or ref)
        except Refused as exc:
            _send_error(conn, exc.code, exc.message, ref)
        except ApiError as exc:
            _send_error(conn, exc.code, exc.message, ref)
        except (StoreUnavailable, BrokerUnavailable) as exc:
            backend = "store" if isinstance(exc, StoreUnavailable) else "broker"
            metrics.backend_errors.labels(backend).inc()
            log.warning("frame failed, service unavailable: %s", exc)
            _send_error(conn, "unavailable", "temporarily unavailable; retry", ref)
        except Exception:
            log.exception("frame handler failed")
            _send_error(conn, "internal", "internal error", ref)


def closing_when_unavailable(
    endpoint: Callable[[WebSocket], Awaitable[None]],
) -> Callable[[WebSocket], Awaitable[None]]:
    """`endpoint`, answering a Store or Broker outage that escapes it (the hello, the
    welcome: before `run_frames` can answer `unavailable`) with close code 1013 — the
    client reconnects with backoff — instead of 1011 and a traceback."""

    async def run(ws: WebSocket) -> None:
        try:
            await endpoint(ws)
        except (StoreUnavailable, BrokerUnavailable) as exc:
            log.warning("socket closed 1013, service unavailable: %s", exc)
            if ws.application_state == WebSocketState.CONNECTING:
                await ws.accept()  # so the client hears a code, not an HTTP refusal
            if ws.application_state == WebSocketState.CONNECTED:
                await ws.close(CLOSE_UNAVAILABLE, "temporarily unavailable; reconnect")

    return run


def _send_error(conn: Connection, code: str, message: str, ref: str | None) -> None:
    conn.metrics.errors.labels(code).inc()
    conn.send(error_frame(code, message, ref))


def _ref_of(text: str) -> str | None:
    """Best effort: the ref of a frame we refuse to process, so the client can match it."""
    try:
        ref = decode_frame(text).get("ref")
    except FrameError:
        return None
    return ref if isinstance(ref, str) else None
