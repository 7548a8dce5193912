"""Peer for the Beckon bench: python-socketio `AsyncServer` with `AsyncRedisManager`.

A socket enters the room named in its query (`?room=R`); a `message` event is emitted
to the room on every node through Redis (the sender's echo is its ack). Nothing is
stored. Run: `python -m bench.peers.python_socketio.app PORT REDIS_URL PREFIX`.
"""

from __future__ import annotations

import sys
from urllib.parse import parse_qs

import socketio
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route


def make_app(redis_url: str, prefix: str) -> Starlette:
    manager = socketio.AsyncRedisManager(redis_url, channel=f"{prefix}:socketio")
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        transports=["websocket"],
        cors_allowed_origins="*",
    )
    rooms: dict[str, str] = {}

    @sio.event
    async def connect(sid: str, environ: dict, auth: object = None) -> None:
        room = parse_qs(environ.get("QUERY_STRING", "")).get("room", [""])[0]
        rooms[sid] = room
        if room:
            await sio.enter_room(sid, room)

    @sio.event
    async def disconnect(sid: str, *args: object) -> None:
        rooms.pop(sid, None)

    @sio.on("message")
    async def message(sid: str, data: object) -> None:
        room = rooms.get(sid)
        if room:
            await sio.emit("message", data, room=room)

    async def readyz(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/readyz", readyz),
            Mount("/", socketio.ASGIApp(sio, socketio_path="socket.io")),
        ]
    )


def main() -> None:
    port, redis_url, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    uvicorn.run(
        make_app(redis_url, prefix),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        ws="websockets",
    )


if __name__ == "__main__":
    main()
