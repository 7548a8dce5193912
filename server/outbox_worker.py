"""The loop shared by the workers that deliver a durable outbox (webhooks, email): rows are
claimed from the Store under a lease, each sent in its own task, and the outcome recorded.

A subclass says what is due (`run_once`) and when the next row will be (`next_due_ts`);
this class runs the passes, sleeps until then (or until `wake`), and stops in two steps:
`finish` claims nothing more and waits for the sends under way (the caller bounds it),
`close` cancels what is left — a cancelled send keeps its lease, so its row is due again
when the lease runs out, on any node.
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

from server.ids import now_ms
from server.store.database import Database, StoreUnavailable


class OutboxWorker:
    """One per node and outbox."""

    BATCH = 20
    name = "outbox"  # for task names and logs

    def __init__(self, db: Database, poll_s: float, log: logging.Logger) -> None:
        self.db = db
        self.poll_s = poll_s
        self.log = log
        # Which node holds a lease: host, process and a random part (two nodes may share both).
        self.node = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._stopping = False  # set by `finish`: claim nothing more

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-worker")

    def wake(self) -> None:
        """A row was just written (or room freed) on this node: look now, not at the
        next poll."""
        self._wake.set()

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
        if due is None or due <= now:  # nothing, or due but leased / held back
            return self.poll_s
        return max(0.01, min(self.poll_s, (due - now) / 1000))
