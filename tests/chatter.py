"""A chat participant that survives its node dying: it reconnects (to another node),
resumes from the last `seq` it has, and retries unacknowledged messages with the same
`client_msg_id` — what the widget and the console do."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.ws_client import WsClient, ws_url

RECONNECT_TIMEOUT_S = 30
RECONNECT_BACKOFF_S = 0.1  # between reconnect attempts, as a client would
RETRY_BACKOFF_S = 0.5  # after rate_limited / unavailable


class Chatter:
    def __init__(
        self,
        kind: str,
        node_urls: list[str],
        connect: Callable[[str, int], Any],
        conversation_id: str,
        name: str,
    ) -> None:
        self.kind = kind
        self.node_urls = node_urls  # tried in order on reconnect
        self._connect = connect  # (node_url, after_seq) -> WsClient, ready for frames
        self.conversation_id = conversation_id
        self.name = name
        self.client: WsClient | None = None
        self.received: list[int] = []  # every message seq as it arrived (dups included)
        self.seen: set[int] = set()
        self.acked: dict[str, int] = {}  # client_msg_id -> seq
        self.reconnects = 0
        self.url: str | None = None  # the node this chatter is on
        self.close_codes: list[int] = []  # how each lost socket was closed (1006: no close)
        self.failed_attempts = 0  # reconnect attempts that found no node to take them
        self.outages_s: list[float] = []  # from each lost socket to the next welcome
        # client_msg_id -> wall-clock time its socket was lost before its ack came.
        self.unanswered: dict[str, float] = {}

    @property
    def contiguous(self) -> int:
        n = 0
        while n + 1 in self.seen:
            n += 1
        return n

    def _note(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "message" and frame["conversation_id"] == self.conversation_id:
            self.received.append(frame["seq"])
            self.seen.add(frame["seq"])

    async def connect(self, url: str) -> None:
        """Connect and say hello. A node that closes with 1013 (its store or broker did
        not answer in time: "temporarily unavailable; reconnect") is asked again after a
        back-off, as the widget and the console do."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECONNECT_TIMEOUT_S
        while True:
            try:
                self.client = await self._connect(url, self.contiguous)
                break
            except ConnectionClosed as exc:
                if exc.rcvd is None or exc.rcvd.code != 1013 or loop.time() > deadline:
                    raise
                await asyncio.sleep(RETRY_BACKOFF_S)
        self.url = url

    def _lost(self, exc: BaseException) -> None:
        received = getattr(exc, "rcvd", None)
        self.close_codes.append(received.code if received is not None else 1006)

    async def _reconnect(self) -> None:
        """Try the nodes in turn, starting after the one just lost, a back-off apart."""
        loop = asyncio.get_running_loop()
        lost_at = loop.time()
        deadline = lost_at + RECONNECT_TIMEOUT_S
        first = self.node_urls.index(self.url) + 1 if self.url in self.node_urls else 0
        attempt = 0
        while True:
            url = self.node_urls[(first + attempt) % len(self.node_urls)]
            attempt += 1
            with contextlib.suppress(OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                await self.connect(url)
                self.reconnects += 1
                self.outages_s.append(loop.time() - lost_at)
                return
            self.failed_attempts += 1
            if loop.time() > deadline:
                raise TimeoutError(f"{self.name} could not reconnect")
            await asyncio.sleep(RECONNECT_BACKOFF_S)

    async def send(self, client_msg_id: str, text: str) -> int:
        """Send until acknowledged (retrying across reconnects); returns the seq."""
        while True:
            assert self.client is not None
            try:
                await self.client.send(
                    {
                        "type": "message",
                        "conversation_id": self.conversation_id,
                        "client_msg_id": client_msg_id,
                        "text": text,
                    }
                )
                while True:
                    frame = await self.client.expect(lambda f: True, timeout=15)
                    self._note(frame)
                    if (
                        frame["type"] == "message"
                        and frame["conversation_id"] == self.conversation_id
                        and frame.get("client_msg_id") == client_msg_id
                    ):
                        self.acked[client_msg_id] = frame["seq"]
                        return frame["seq"]
                    if frame.get("type") == "error":
                        if frame["code"] in ("rate_limited", "unavailable"):
                            await asyncio.sleep(RETRY_BACKOFF_S)  # then the same id again
                            break
                        raise AssertionError(f"{self.name}: {frame}")
            except (ConnectionClosed, OSError, TimeoutError) as exc:
                self.unanswered.setdefault(client_msg_id, time.time())
                self._lost(exc)
                await self._reconnect()

    async def drain_until(self, last_seq: int, timeout: float = 60) -> None:
        """Read until every seq up to `last_seq` has arrived (reconnecting if needed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not all(s in self.seen for s in range(1, last_seq + 1)):
            assert loop.time() < deadline, f"{self.name} missing {self._missing(last_seq)}"
            assert self.client is not None
            try:
                frame = await self.client.expect(lambda f: True, timeout=2)
                self._note(frame)
            except TimeoutError:
                continue
            except (ConnectionClosed, OSError) as exc:
                self._lost(exc)
                await self._reconnect()

    def _missing(self, last_seq: int) -> list[int]:
        return [s for s in range(1, last_seq + 1) if s not in self.seen]

    def in_order(self) -> bool:
        """First arrivals are strictly increasing: nothing was delivered out of order."""
        firsts: list[int] = []
        seen: set[int] = set()
        for seq in self.received:
            if seq not in seen:
                seen.add(seq)
                firsts.append(seq)
        return firsts == sorted(firsts)


async def visitor_connector(site_key: str, token: str, conversation_id: str):  # type: ignore[no-untyped-def]
    async def connect(node_url: str, after_seq: int) -> WsClient:
        client = await WsClient.connect(ws_url(node_url, f"/ws/visitor?site={site_key}"))
        await client.send(
            {
                "type": "hello",
                "page": {"url": "https://shop.example.com/"},
                "visitor_token": token,
                "conversation": {"id": conversation_id, "after_seq": after_seq},
            }
        )
        await client.expect("welcome")
        return client

    return connect


async def agent_connector(agent_token: str, conversation_id: str):  # type: ignore[no-untyped-def]
    async def connect(node_url: str, after_seq: int) -> WsClient:
        client = await WsClient.connect(ws_url(node_url, "/ws/agent"), origin=None)
        await client.send({"type": "hello", "token": agent_token})
        await client.expect("welcome")
        await client.send(
            {"type": "resume", "conversation_id": conversation_id, "after_seq": after_seq}
        )
        return client

    return connect
