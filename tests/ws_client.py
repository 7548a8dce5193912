"""A small WebSocket test client: send frames, wait for the one you expect (with a timeout)."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from typing import Any

import orjson
import websockets
from websockets.exceptions import ConnectionClosed

ORIGIN = "https://shop.example.com"
Frame = dict[str, Any]


class WsClient:
    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.frames: list[Frame] = []  # everything received, in order
        self._counter = itertools.count(1)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        origin: str | None = ORIGIN,
        headers: dict[str, str] | None = None,
        sock: socket.socket | None = None,
    ) -> WsClient:
        ws = await websockets.connect(
            url,
            origin=origin,
            additional_headers=headers or {},
            max_size=None,
            open_timeout=10,
            ping_interval=None,
            sock=sock,
        )
        return cls(ws)

    async def send(self, frame: Frame) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    def next_id(self, prefix: str = "c") -> str:
        return f"{prefix}{next(self._counter)}"

    async def expect(self, match: Callable[[Frame], bool] | str, timeout: float = 10.0) -> Frame:
        """The first frame not yet consumed that matches (a type name or a predicate)."""
        predicate = (lambda f: f.get("type") == match) if isinstance(match, str) else match
        for index, frame in enumerate(self.frames):
            if predicate(frame):
                del self.frames[index]
                return frame
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.ws.recv()
                frame = orjson.loads(raw)
                if predicate(frame):
                    return frame
                self.frames.append(frame)

    async def pump(self, timeout: float = 10.0) -> Frame:
        """Read one new frame from the socket into `frames` (and return it)."""
        async with asyncio.timeout(timeout):
            frame = orjson.loads(await self.ws.recv())
        self.frames.append(frame)
        return frame

    async def request(self, frame: Frame, timeout: float = 10.0) -> Frame:
        """Send with a fresh `ref` and wait for the reply carrying it."""
        ref = self.next_id("r")
        await self.send({**frame, "ref": ref})
        return await self.expect(lambda f: f.get("ref") == ref, timeout)

    async def closed(self, timeout: float = 10.0) -> tuple[int | None, str]:
        """Wait for the server to close; returns (code, reason)."""
        async with asyncio.timeout(timeout):
            try:
                while True:
                    self.frames.append(orjson.loads(await self.ws.recv()))
            except ConnectionClosed as exc:
                rcvd = exc.rcvd
                return (rcvd.code if rcvd else None, rcvd.reason if rcvd else "")

    async def close(self) -> None:
        await self.ws.close()


def ws_url(http_url: str, path: str) -> str:
    return http_url.replace("http://", "ws://", 1) + path
