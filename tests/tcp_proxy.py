"""A loopback TCP proxy the tests can cut and restore, to take a real service "down"
for one server process without touching the shared service itself."""

from __future__ import annotations

import asyncio
import contextlib

from tests.beckon_process import free_port


class TcpProxy:
    """Also a one-backend-at-a-time load balancer in front of `beckon serve` nodes:
    `hold()` keeps new connections waiting (no healthy backend yet), `retarget()` sends
    new connections to another node, `release()` lets the held ones through."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._released = asyncio.Event()
        self._released.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Stop accepting and drop every open connection (the service 'goes down')."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    def retarget(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        """New connections go to this upstream; open ones stay where they are."""
        self.target = (target_host, target_port)

    def hold(self) -> None:
        """Accept new connections but connect them upstream only after `release()`."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._released.is_set():
            self._pipes.add(writer)  # a `cut()` while held drops it too
            await self._released.wait()
            self._pipes.discard(writer)
            if writer.is_closing():
                return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._pipes.update((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._pipes.discard(writer)
        self._pipes.discard(up_writer)
