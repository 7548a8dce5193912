"""Visitors' traffic for backtest-versus-live tests: a widget stand-in driven by plans of
steps at fixed times, and what the live node decided (read from its SQLite file)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

import httpx
import orjson
import websockets

from tests.waiting import wait_until
from tests.ws_client import ORIGIN

STEP_S = 0.8  # time-driven edges fall ≥ 0.4 s from any step: room for a slow machine
PATHS = ("/a", "/b", "/shop/1")


class Visitor:
    """A widget stand-in: says hello, acknowledges invitations as shown, answers them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: Any = None
        self.token: str | None = None
        self.visitor_id: str | None = None
        self.invitation: str | None = None  # on screen
        self.conversation: str | None = None
        self.reader: asyncio.Task[None] | None = None

    async def connect(self, path: str) -> None:
        self.ws = await websockets.connect(self.url, origin=ORIGIN)  # type: ignore[arg-type]
        hello: dict[str, Any] = {
            "type": "hello",
            "page": {"url": f"https://shop.example.com{path}"},
        }
        if self.token:
            hello["visitor_token"] = self.token
        await self.ws.send(orjson.dumps(hello).decode())
        while True:
            frame = orjson.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if frame["type"] == "welcome":
                break
        self.token, self.visitor_id = frame["visitor_token"], frame["visitor_id"]
        if frame.get("conversation"):
            self.conversation = frame["conversation"]["id"]
        self.reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "invitation":
                    self.invitation = frame["invitation_id"]
                    await self.send(
                        {"type": "invitation_shown", "invitation_id": frame["invitation_id"]}
                    )
                elif kind == "invitation_withdrawn" and frame["invitation_id"] == self.invitation:
                    self.invitation = None
                elif kind == "conversation" and frame.get("status") != "closed":
                    self.conversation = frame["id"]
                elif kind == "closed" and frame.get("conversation_id") == self.conversation:
                    self.conversation = None

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def leave(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            await self.reader
        self.ws = None

    async def step(self, kind: str, arg: Any) -> None:
        if kind == "leave":
            if self.ws is not None:
                await self.leave()
            return
        if self.ws is None:  # any action after leaving: come back first
            await self.connect(PATHS[0])
            return
        if kind == "page_view":
            await self.send({"type": "page_view", "url": f"https://shop.example.com{arg}"})
        elif kind == "add_to_cart":
            await self.send({"type": "track", "event": "add_to_cart"})
        elif kind == "cart":
            await self.send({"type": "cart", "value": arg, "currency": "EUR", "items": 1})
        elif kind in ("dismiss", "accept") and self.invitation is not None:
            invitation, self.invitation = self.invitation, None
            await self.send({"type": f"invitation_{kind}", "invitation_id": invitation})
        elif kind == "close_chat" and self.conversation is not None:
            await self.send({"type": "close", "conversation_id": self.conversation})
            self.conversation = None


async def run_traffic(url: str, plans: list[list[tuple[str, Any]]]) -> list[Visitor]:
    visitors = [Visitor(url) for _ in plans]

    async def one(visitor: Visitor, plan: list[tuple[str, Any]]) -> None:
        await visitor.connect(PATHS[0])
        for kind, arg in plan:
            await asyncio.sleep(STEP_S)  # traffic at its times, not a wait for something
            await visitor.step(kind, arg)

    await asyncio.gather(*(one(v, p) for v, p in zip(visitors, plans, strict=True)))
    await asyncio.sleep(STEP_S)  # the last step's delays and time-driven firings
    return visitors


async def visit_log_written(api: httpx.AsyncClient) -> None:
    """The node writes the visit log in batches: wait until nothing is left to write."""

    async def waiting() -> str:
        return (await api.get("/metrics")).text

    await wait_until(
        waiting,
        lambda text: 'beckon_write_queue{writer="visit_events"} 0.0' in text,
        10,
        "the visit log to be written",
    )


def live_decisions(database: Any, site_id: str) -> dict[str, list[tuple[str, str, str]]]:
    """What the live node decided, per visitor, in order: invited (and shown) / held out."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT visitor_id, rule_id, variant_id, status, shown_ts FROM invitations"
            " WHERE site_id = ? ORDER BY created_ts, rowid",
            (site_id,),
        ).fetchall()
    out: dict[str, list[tuple[str, str, str]]] = {}
    for visitor_id, rule_id, variant_id, status, shown_ts in rows:
        held = status == "held_out"
        assert held or shown_ts is not None, "every invitation sent was shown"
        out.setdefault(visitor_id, []).append(
            (rule_id, variant_id, "held_out" if held else "invited")
        )
    return out
