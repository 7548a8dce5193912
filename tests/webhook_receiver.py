"""A local HTTP receiver for webhook tests: records every request, answers a chosen
status, can be down (its port closed) and come back on the same port, and can be slow:
with `hold` set it records each request and then answers only once released."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.beckon_process import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.requests: list[Received] = []
        self.status = 200
        self.answer_after_s = 0.0  # a slow target: each answer takes this long
        self.hold = False  # True: answer nothing until release() (a receiver that hangs)
        self.answered = 0
        self._released = asyncio.Event()  # set by stop()/release(): waiting answers go
        self._arrived = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> Response:
        self.requests.append(Received(dict(request.headers), await request.body()))
        self._arrived.set()
        if self.answer_after_s:  # the target's own pace
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), self.answer_after_s)
        if self.hold:
            await self._released.wait()
        self.answered += 1
        return Response("ok", self.status)

    def release(self) -> None:
        """Answer every held request, and hold no more."""
        self.hold = False
        self._released.set()

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        # Bound and listening before serve() runs: connections made from now on wait in
        # the backlog instead of being refused, so there is nothing to wait for.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))

    async def stop(self) -> None:
        self.release()
        if self._server is not None and self._task is not None:
            self._released.set()
            self._server.should_exit = True
            await self._task
        self._server = self._task = None

    async def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 15
    ) -> list[Received]:
        """Wait until `predicate(requests)` holds (woken by each arriving request)."""
        async with asyncio.timeout(timeout):
            while not predicate(self.requests):
                self._arrived.clear()
                await self._arrived.wait()
        return self.requests

    def of(self, delivery_id: str) -> list[Received]:
        return [r for r in self.requests if r.headers.get("x-beckon-delivery") == delivery_id]


def verify(secret: str, received: Received) -> bool:
    """The documented check: HMAC-SHA256(secret, "<t>.<raw body>") in hex equals v1."""
    parts = dict(p.split("=", 1) for p in received.headers["x-beckon-signature"].split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])
