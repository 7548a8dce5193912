"""argon2 password hashing, run in a bounded thread pool so the event loop never waits.

One argon2 hash costs tens of milliseconds of CPU and 64 MiB of memory by design. Run on
the event loop, a burst of sign-ins stalls every socket and `/healthz` of the node; run
in `threads` worker threads (argon2-cffi releases the GIL while it works), a burst
queues behind those workers and everything else keeps its pace.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of `password` (blocking; the CLI's path)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if `password` matches; False for a wrong password or a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Passwords:
    """Hash and verify off the event loop. Open in the lifespan, `close()` there."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, hash_password, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, verify_password, password_hash, password
        )

    async def burn(self, password: str) -> None:
        """Spend one verification's time for an unknown account, so response times do
        not reveal which emails exist."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash("not-a-real-password")
        await self.verify(self._dummy_hash, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
