"""A peer that does not read, against a real `beckon serve` (server/ws_protocol.py): a
client that floods WebSocket pings and never reads keeps the node's memory bounded
(pongs coalesce, its reads pause), other clients are served meanwhile, and the flooder
is aborted once its unread output has stayed over the high-water mark for
`BECKON_WS_SEND_STALL_S` — on the visitor socket and on the agent socket alike."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.raw_ws import RawWs
from tests.ws_client import ORIGIN

pytestmark = pytest.mark.asyncio(loop_scope="module")

STALL_S = 2
FLOOD_CAP_BYTES = 192 * 1024 * 1024  # unbounded, the node would buffer about this much
RSS_GROWTH_LIMIT = 48 * 1024 * 1024
SERVED_AFTER_BYTES = 1024 * 1024  # the flood is under way when the other client comes


def _ping(payload: bytes) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x89, 0x80 | len(payload)]) + mask + masked


# 125 bytes: the largest control frame, so each ping asks for the largest pong.
FLOOD_CHUNK = _ping(b"p" * 125) * 8000  # ~1 MiB


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    env = {"BECKON_WS_SEND_STALL_S": str(STALL_S)}
    async with running_node(tmp_path_factory.mktemp("not_reading"), env=env) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


async def _pong(raw: RawWs, ref: str) -> dict:
    """Ping and return the answer, past frames that are not answers (e.g. `availability`
    when the flooding agent's socket goes)."""
    await raw.send({"type": "ping", "ref": ref})
    while (frame := await raw.recv_json()).get("ref") != ref:
        pass
    return frame


async def _visitor(node: BeckonProcess, chat: ChatSite) -> RawWs:
    raw = await RawWs.connect(node.port, f"/ws/visitor?site={chat.site['key']}", ORIGIN)
    await raw.send({"type": "hello", "page": {"url": "https://shop.example.com/"}})
    while (await raw.recv_json())["type"] != "welcome":
        pass
    return raw


async def _agent(node: BeckonProcess, chat: ChatSite) -> RawWs:
    raw = await RawWs.connect(node.port, "/ws/agent", node.url)
    await raw.send({"type": "hello", "token": chat.agent_token})
    while (await raw.recv_json())["type"] != "welcome":
        pass
    return raw


@pytest.mark.parametrize("kind", ["visitor", "agent"])
async def test_ping_flood_without_reading_is_bounded_and_aborted(
    node: BeckonProcess, chat: ChatSite, kind: str
) -> None:
    assert node.proc is not None
    pid = node.proc.pid
    flooder = await (_visitor if kind == "visitor" else _agent)(node, chat)
    baseline = peak = rss_bytes(pid)
    sent = 0
    under_way = asyncio.Event()

    async def flood() -> BaseException | None:
        nonlocal sent
        try:
            while sent < FLOOD_CAP_BYTES:
                flooder.writer.write(FLOOD_CHUNK)
                await flooder.writer.drain()  # blocks once the node stops reading us
                sent += len(FLOOD_CHUNK)
                if sent >= SERVED_AFTER_BYTES:
                    under_way.set()
        except (ConnectionError, OSError) as exc:
            return exc
        finally:
            under_way.set()
        return None

    flooding = asyncio.create_task(flood())
    try:
        await asyncio.wait_for(under_way.wait(), 30)
        # Another client is served while the flood goes on.
        other = await _visitor(node, chat)
        await other.send({"type": "ping", "ref": "p1"})
        assert await other.recv_json() == {"type": "pong", "ref": "p1"}
        other.abort()
        async with asyncio.timeout(120):
            while not flooding.done():
                peak = max(peak, rss_bytes(pid))
                await asyncio.wait((flooding,), timeout=0.05)
    finally:
        flooding.cancel()
        flooder.abort()
    peak = max(peak, rss_bytes(pid))
    ended = flooding.result()
    # The node aborted the flooder (its unread pongs dropped), long before the cap.
    assert isinstance(ended, ConnectionResetError | BrokenPipeError), (ended, sent)
    assert sent < FLOOD_CAP_BYTES
    assert peak - baseline < RSS_GROWTH_LIMIT, (baseline, peak, sent)
    # ... and goes on serving.
    after = await _visitor(node, chat)
    assert await _pong(after, "p2") == {"type": "pong", "ref": "p2"}
    after.abort()
