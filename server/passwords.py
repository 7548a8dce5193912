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
# A hash of a throwaway password with the hasher's parameters: verifying against it costs
# what verifying a real account costs. Not a secret.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$r/qa58VHhhw7K5A7iS2cYA"
    "$kUOCiA6B8vqWki0/ppMFgcx6eaILLeAjGEACyh5mTT4"
)


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

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, hash_password, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, verify_password, password_hash, password
        )

    async def burn(self, password: str) -> None:
        """Spend one verification's time for an unknown account, so response times do
        not reveal which emails exist."""
        await self.verify(_DUMMY_HASH, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
