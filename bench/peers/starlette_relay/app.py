"""Peer for the Beckon bench: Starlette + uvicorn + redis-py asyncio, the plain way.

A socket joins the room named in its query (`/ws?room=R`); each inbound frame is one
awaited PUBLISH to `PREFIX:room:R`; one pattern subscription per process delivers to
the local sockets of the room (the sender's echo is its ack). Nothing is stored.
Run: `python -m bench.peers.starlette_relay.app PORT REDIS_URL PREFIX`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import redis.asyncio as redis
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


def make_app(redis_url: str, prefix: str) -> Starlette:
    rooms: dict[str, set[WebSocket]] = {}
    state: dict[str, object] = {}

    async def listen(pubsub: redis.client.PubSub) -> None:
        cut = len(prefix) + len(":room:")
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            room = message["channel"][cut:]
            text = message["data"]
            for ws in list(rooms.get(room, ())):
                with contextlib.suppress(Exception):
                    await ws.send_text(text)

    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        client = redis.from_url(redis_url, decode_responses=True)
        pubsub = client.pubsub()
        await pubsub.psubscribe(f"{prefix}:room:*")
        state["redis"] = client
        task = asyncio.create_task(listen(pubsub))
        yield
        task.cancel()
        await pubsub.aclose()
        await client.aclose()

    async def readyz(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("ok")

    async def ws_endpoint(ws: WebSocket) -> None:
        room = ws.query_params.get("room", "")
        await ws.accept()
        client: redis.Redis = state["redis"]  # type: ignore[assignment]
        rooms.setdefault(room, set()).add(ws)
        channel = f"{prefix}:room:{room}"
        try:
            while True:
                text = await ws.receive_text()
                await client.publish(channel, text)
        except WebSocketDisconnect:
            pass
        finally:
            members = rooms.get(room)
            if members is not None:
                members.discard(ws)
                if not members:
                    del rooms[room]

    return Starlette(
        routes=[Route("/readyz", readyz), WebSocketRoute("/ws", ws_endpoint)], lifespan=lifespan
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
