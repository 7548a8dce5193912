"""ASGI middleware: an id for each HTTP request and each socket, for the log lines.

A request keeps the `X-Request-ID` its proxy sent (nginx's `$request_id`, a load
balancer's trace id) when it is a plain token of at most 64 characters — so one id
follows the request through the proxy's log and ours — and gets a new one otherwise; the
response carries it back in `X-Request-ID`. Sockets get a new `connection_id`.
"""

from __future__ import annotations

import logging
import re

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.ids import new_id
from server.logs import connection_id, request_id

log = logging.getLogger("beckon.http")
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def incoming_request_id(value: str | None) -> str:
    """The proxy's id when it is a plain token, else a new one."""
    if value is not None and _TOKEN.fullmatch(value):
        return value
    return new_id("rq")


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            token = connection_id.set(new_id("cn"))
            try:
                await self.app(scope, receive, send)
            finally:
                connection_id.reset(token)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                sent = value.decode("latin-1")
                break
        rid = incoming_request_id(sent)
        header = (b"x-request-id", rid.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.debug("%s %s %d", scope["method"], scope["path"], status)
            request_id.reset(token)


class StarletteWithRequestIds(Starlette):
    """Starlette with `RequestIds` outside everything, even the error middleware: the
    line the catch-all exception handler logs carries the id, and a 500 sends it back.
    (`middleware=[...]` would put it inside Starlette's ServerErrorMiddleware.)"""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestIds(super().build_middleware_stack())
