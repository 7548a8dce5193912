"""Whose turn it is to write, in one process (SQLite: one writer at a time).

First come, first served within each kind, and a waiting urgent writer (a chat message
the sender waits to see acked) goes before every waiting background batch (visit log,
decisions, visitor rows), which can wait a little longer without anyone noticing. The
turn held is never taken away: urgency only reorders the queue.
"""

from __future__ import annotations

import asyncio
from collections import deque


class WriteTurns:
    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @property
    def held(self) -> bool:
        return self._held

    async def acquire(self, urgent: bool = False) -> None:
        """Wait for the turn. Cancelled while waiting, the caller takes no turn (one
        handed over just then goes on to the next)."""
        if not self._held:
            self._held = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # given the turn, then cancelled before using it
            raise

    def release(self) -> None:
        """End the turn: the next waiter (urgent first) has it, or nobody."""
        for waiting in (self._urgent, self._normal):
            while waiting:
                turn = waiting.popleft()
                if not turn.done():  # else cancelled while waiting
                    turn.set_result(None)
                    return
        self._held = False
