"""One pooled Redis connection kept by the task that alone uses it (a batch queue).

A checkout and a release per batch — the pool's lock, its liveness poll, its
bookkeeping — were two fifths of a Redis batch's client time (bench/PERF_NOTES.md,
"where a shop-day page load goes"). The queue's task keeps one connection instead, and
gives it back only when it failed (then the next batch checks out a fresh one). The
pool's close disconnects it with the rest.
"""

from __future__ import annotations

from redis.asyncio.connection import AbstractConnection, BlockingConnectionPool


class HeldConnection:
    def __init__(self, pool: BlockingConnectionPool) -> None:
        self._pool = pool
        self._conn: AbstractConnection | None = None

    async def get(self) -> AbstractConnection:
        """The kept connection, or a fresh checkout when there is none or Redis closed
        it (the end of its stream already read: a restarted server's connection fails
        before a batch is sent on it, as the pool's own check would find)."""
        conn = self._conn
        if conn is not None and _open(conn):
            return conn
        if conn is not None:
            await self.drop()
        self._conn = await self._pool.get_connection()
        return self._conn

    async def drop(self) -> None:
        """The connection failed (or replies may still be due): disconnect it and give
        it back to the pool; the next `get` checks out another."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.disconnect()
            finally:
                await self._pool.release(conn)


def _open(conn: AbstractConnection) -> bool:
    reader = getattr(conn, "_reader", None)  # redis-py's stream; None once disconnected
    return reader is not None and not reader.at_eof()
