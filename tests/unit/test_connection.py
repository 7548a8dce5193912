"""server/hub/connection.py on the chat socket protocol (server/ws_protocol.py): frames
go out at once when nothing is queued and the socket takes writes, through the writer
otherwise; either way every conversation's messages leave in `seq` order, gaps filled
from the Store, nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

from server.hub.connection import OFFER_BACKLOG, Connection
from server.metrics import Metrics
from server.store.database import StoreUnavailable
from tests.unit.test_ws_protocol import ACCEPTED, HANDSHAKE, Harness, server_close
from tests.waiting import next_loop_turn


class Store:
    """The messages a gap fill reads: conversation → seq → frame."""

    def __init__(self) -> None:
        self.messages: dict[str, dict[int, dict[str, Any]]] = {}
        self.reads = 0

    def add(self, cid: str, seq: int) -> dict[str, Any]:
        frame = {"type": "message", "conversation_id": cid, "seq": seq, "text": f"{cid}#{seq}"}
        self.messages.setdefault(cid, {})[seq] = frame
        return frame

    async def load_gap(self, cid: str, after_seq: int) -> list[dict[str, Any]]:
        self.reads += 1
        await next_loop_turn()  # a real read yields to the loop
        stored = self.messages.get(cid, {})
        return [stored[s] for s in sorted(stored) if s > after_seq]


async def open_connection() -> tuple[Harness, Connection, Store]:
    store = Store()
    opened: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()

    async def endpoint(ws: Any) -> None:
        await ws.accept()
        opened.set_result(Connection(ws, "agent", store.load_gap, Metrics()))
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass

    h = Harness(endpoint)
    h.feed(HANDSHAKE)
    connection = await asyncio.wait_for(opened, 2)
    assert h.transport.take() == ACCEPTED
    return h, connection, store


def sent_texts(h: Harness) -> list[str]:
    """The text frames written so far (small frames: a two-byte header each)."""
    out, texts, i = h.transport.take(), [], 0
    while i < len(out):
        assert out[i] == 0x81 and out[i + 1] < 126
        n = out[i + 1]
        texts.append(orjson.loads(out[i + 2 : i + 2 + n])["text"])
        i += 2 + n
    return texts


def tasks_started_by(action: Callable[[], None]) -> int:
    before = len(asyncio.all_tasks())
    action()
    return len(asyncio.all_tasks()) - before


async def test_in_order_frames_are_written_at_once_without_a_task() -> None:
    h, conn, store = await open_connection()
    conn.track("cv_1", 0)
    frames = [store.add("cv_1", seq) for seq in (1, 2, 3)]

    def deliver() -> None:
        for frame in frames:
            conn.deliver("cv_1", frame["seq"], frame)
        conn.send({"type": "typing", "text": "plain frame"})

    assert tasks_started_by(deliver) == 0
    assert sent_texts(h) == ["cv_1#1", "cv_1#2", "cv_1#3", "plain frame"]
    conn.deliver("cv_1", 2, frames[1])  # already delivered: nothing twice
    assert sent_texts(h) == [] and conn.positions["cv_1"] == 3


async def test_a_gap_is_filled_from_the_store_and_nothing_overtakes_it() -> None:
    h, conn, store = await open_connection()
    conn.track("cv_1", 1)
    for seq in (2, 3, 4, 5):
        store.add("cv_1", seq)
    conn.deliver("cv_1", 4, store.messages["cv_1"][4])  # 2 and 3 were missed
    conn.deliver("cv_1", 5, store.messages["cv_1"][5])  # must wait behind the fill
    conn.send({"type": "typing", "text": "after"})
    assert sent_texts(h) == []  # the writer reads the Store first
    async with asyncio.timeout(2):
        while conn._writer is not None:
            await next_loop_turn()
    assert sent_texts(h) == ["cv_1#2", "cv_1#3", "cv_1#4", "cv_1#5", "after"]
    assert store.reads == 1
    conn.deliver("cv_1", 6, store.add("cv_1", 6))  # idle again: straight out
    assert sent_texts(h) == ["cv_1#6"]


async def test_while_writing_is_paused_frames_queue_and_leave_in_order() -> None:
    h, conn, store = await open_connection()
    conn.track("cv_1", 0)
    h.protocol.pause_writing()
    for seq in (1, 2):
        conn.deliver("cv_1", seq, store.add("cv_1", seq))
    await next_loop_turn()
    assert sent_texts(h) == [] and conn._writer is not None
    h.protocol.resume_writing()
    conn.deliver("cv_1", 3, store.add("cv_1", 3))  # the writer is still busy: queued
    async with asyncio.timeout(2):
        while conn._writer is not None:
            await next_loop_turn()
    assert sent_texts(h) == ["cv_1#1", "cv_1#2", "cv_1#3"]
    assert store.reads == 0


async def test_a_closed_socket_gets_nothing_and_no_error() -> None:
    h, conn, store = await open_connection()
    await conn.close(1000)
    assert h.transport.take()[:2] == b"\x88\x02"
    conn.send({"type": "typing", "text": "late"})
    conn.deliver("cv_9", 1, store.add("cv_9", 1))
    await next_loop_turn()
    assert h.transport.take() == b"" and conn._writer is None


async def test_follow_then_live_message_then_replay_delivers_each_seq_once() -> None:
    """An agent accepts a chat (track, subscribe, replay from 0) while a message arrives
    live: the live one goes out at once, the replay skips it."""
    h, conn, store = await open_connection()
    store.add("cv_1", 1)
    conn.track("cv_1", 0)  # follow: ordering starts after 0
    conn.deliver("cv_1", 1, store.messages["cv_1"][1])  # live, before the replay ran
    conn.sync("cv_1", 0)  # the replay after following
    conn.deliver("cv_1", 2, store.add("cv_1", 2))  # live again, behind the replay
    async with asyncio.timeout(2):
        while conn._writer is not None:
            await next_loop_turn()
    assert sent_texts(h) == ["cv_1#1", "cv_1#2"]
    conn.sync("cv_1", 0)  # a resume from an older seq on the same socket: nothing twice
    async with asyncio.timeout(2):
        while conn._writer is not None:
            await next_loop_turn()
    assert sent_texts(h) == [] and conn.positions["cv_1"] == 2
    store.add("cv_1", 3)
    conn.sync("cv_1", 1)  # ... but what it does not have yet, it gets
    async with asyncio.timeout(2):
        while conn._writer is not None:
            await next_loop_turn()
    assert sent_texts(h) == ["cv_1#3"]


async def test_resume_below_the_followed_position_replays_only_what_the_socket_lacks() -> None:
    """A console's welcome follows its chats at their last seq; the console then resumes
    from what it holds: it gets what it lacks — not what already went out live."""
    h, conn, store = await open_connection()
    for seq in (1, 2):
        store.add("cv_1", seq)
    conn.track("cv_1", 2)  # welcome: ordering after the last stored seq
    conn.deliver("cv_1", 3, store.add("cv_1", 3))  # live, before the resume came
    conn.sync("cv_1", 0)  # the console holds nothing yet
    async with asyncio.timeout(2):
        while conn._writer is not None:
            await next_loop_turn()
    assert sent_texts(h) == ["cv_1#3", "cv_1#1", "cv_1#2"]
    conn.sync("cv_1", 0)
    async with asyncio.timeout(2):
        while conn._writer is not None:
            await next_loop_turn()
    assert sent_texts(h) == []


async def test_a_replay_the_store_cannot_serve_closes_1013_to_reconnect_and_resume() -> None:
    h, conn, _ = await open_connection()

    async def store_down(cid: str, after_seq: int) -> list[dict[str, Any]]:
        raise StoreUnavailable("connection refused")

    conn._load_gap = store_down
    conn.track("cv_1", 0)
    conn.sync("cv_1", 0)
    conn.send({"type": "typing", "text": "behind the replay"})
    await h.until(lambda: bool(h.transport.out))
    assert h.transport.take() == server_close(1013, "temporarily unavailable; reconnect")
    assert conn.closed


async def test_an_offered_frame_goes_out_when_the_socket_keeps_up_and_is_skipped_when_behind() -> (
    None
):
    h, conn, store = await open_connection()
    assert conn.offer({"type": "visitor_view", "text": "v1"}) is True
    assert sent_texts(h) == ["v1"]
    h.protocol.pause_writing()
    conn.track("cv_1", 0)
    conn.deliver("cv_1", 1, store.add("cv_1", 1))  # a chat frame waits: a little behind
    assert conn.offer({"type": "visitor_view", "text": "v2"}) is True
    # Offers stop once OFFER_BACKLOG bytes wait; far more of them never close (4408).
    big = "x" * 10_000
    accepted = sum(conn.offer({"type": "visitor_view", "text": big}) for _ in range(5000))
    assert accepted == 7  # 7 × ~10 KB reach 64 KiB
    assert conn._queued_bytes < OFFER_BACKLOG + 11_000 and not conn.closed
    h.protocol.resume_writing()
    conn.deliver("cv_1", 2, store.add("cv_1", 2))
    async with asyncio.timeout(2):
        while conn._writer is not None:
            await next_loop_turn()
    h.transport.take()
    assert conn.offer({"type": "visitor_view", "text": "v3"}) is True
    assert sent_texts(h) == ["v3"]
