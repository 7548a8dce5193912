"""The loop shared by the workers that deliver a durable outbox (webhooks, email): rows are
claimed from the Store under a lease, each sent in its own task, and the outcome recorded.

A subclass says what is due (`run_once`) and when the next row will be (`next_due_ts`);
this class runs the passes, sleeps until then (or until woken), and stops in two steps:
`finish` claims nothing more and waits for the sends under way (the caller bounds it),
`close` cancels what is left — a cancelled send keeps its lease, so its row is due again
when the lease runs out, on any node.

Idle costs nothing per second: with no row waiting the worker sleeps `IDLE_POLL_S`, not
`poll_s`. What ends that sleep early is a notice on the broker (`channel`): `wake`,
called wherever a row is written, sets this node's worker going and publishes the
notice, which wakes the worker of every node following it (this one too). A notice lost
while the broker was down is made up for by the wake after every broker reconnect, and
at worst by the idle poll; rows due later (retry back-off, a held email) wake the worker
at their due time, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from server.broker.base import Broker, BrokerUnavailable
from server.broker.fanout import Subscription
from server.ids import now_ms
from server.store.database import Database, StoreUnavailable

# With nothing waiting, how long a worker sleeps between looks at the Store. Only a safety
# net: a written row wakes every node at once through the notice (see `wake`).
IDLE_POLL_S = 30.0


class OutboxWorker:
    """One per node and outbox."""

    BATCH = 20
    name = "outbox"  # for task names and logs

    def __init__(
        self, db: Database, poll_s: float, log: logging.Logger, idle_poll_s: float = IDLE_POLL_S
    ) -> None:
        self.db = db
        self.poll_s = poll_s
        self.idle_poll_s = max(poll_s, idle_poll_s)
        self.log = log
        # Which node holds a lease: host, process and a random part (two nodes may share both).
        self.node = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._stopping = False  # set by `finish`: claim nothing more
        self._broker: Broker | None = None
        self._notices: Subscription | None = None

    @property
    def channel(self) -> str:
        """Where the nodes tell each other that a row of this outbox was written."""
        return f"outbox:{self.name}"

    async def follow(self, broker: Broker) -> None:
        """Wake on the notices of every node (once, at start-up, before `start`); raises
        BrokerUnavailable as any subscription does."""
        self._broker = broker
        self._notices = await broker.subscribe(self.channel, lambda _c, _d: self._wake.set())
        broker.add_reconnect_listener(self._wake.set)  # notices may have been lost meanwhile

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-worker")

    def wake(self) -> None:
        """A row was just written (or an endpoint resumed) on this node: look now, here
        and on every other node, not at the next idle poll."""
        self._wake.set()
        if self._broker is None:
            return
        try:
            sent = self._broker.publish_nowait(self.channel, b"1")
        except BrokerUnavailable as exc:
            self.log.warning("%s: the other nodes were not woken: %s", self.name, exc)
            return
        sent.add_done_callback(self._noticed)

    def _noticed(self, sent: asyncio.Future[None]) -> None:
        # The row is stored either way: another node finds it at its idle poll.
        if not sent.cancelled() and sent.exception() is not None:
            self.log.warning("%s: the other nodes were not woken: %s", self.name, sent.exception())

    async def finish(self) -> None:
        """Shutdown: claim nothing more and wait for the sends in flight, so each is
        recorded (done, or due again) instead of waiting out its lease on another node."""
        self._stopping = True
        self._wake.set()
        if self._task is not None and not self._task.done():
            await asyncio.wait((self._task,))
        if self._sending:
            await asyncio.wait(set(self._sending))

    async def close(self) -> None:
        if self._notices is not None:
            await self._notices.close()
            self._notices = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)

    async def run_once(self) -> bool:
        """Claim what is due and start sending it; True when anything was claimed."""
        raise NotImplementedError

    async def next_due_ts(self) -> int | None:
        """When the next row is due (ms), None when nothing is waiting."""
        raise NotImplementedError

    def send(
        self,
        coroutine: Coroutine[Any, Any, None],
        row_id: str,
        after: Callable[[], None] | None = None,
    ) -> None:
        """Run one claimed row's send in its own task, tracked until it ends; `after`
        runs when it has (however it ended)."""
        task = asyncio.create_task(coroutine, name=f"{self.name}-{row_id}")
        self._sending.add(task)
        task.add_done_callback(lambda done: self._sent(done, after))

    def _sent(self, task: asyncio.Task[None], after: Callable[[], None] | None) -> None:
        self._sending.discard(task)
        if after is not None:
            after()
        if not task.cancelled() and task.exception() is not None:
            self.log.error("%s send failed", self.name, exc_info=task.exception())
        self._wake.set()  # room freed: the next one may go

    async def _run(self) -> None:
        while not self._stopping:
            busy = False
            try:
                busy = await self.run_once()
            except StoreUnavailable as exc:
                self.log.warning("%s worker: store unavailable: %s", self.name, exc)
            except Exception:
                self.log.exception("%s worker pass failed", self.name)
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), await self._idle_s())
            self._wake.clear()

    async def _idle_s(self) -> float:
        try:
            due = await self.next_due_ts()
        except Exception:
            return self.poll_s
        now = now_ms()
        if due is None:  # nothing waiting: a written row's notice wakes us
            return self.idle_poll_s
        if due <= now:  # due but leased elsewhere, or held back here
            return self.poll_s
        return max(0.01, min(self.idle_poll_s, (due - now) / 1000))
