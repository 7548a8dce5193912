"""A tiny in-process model of the Redis data types the broker uses, with TTLs.

Strings (bytes), hashes (bytes -> bytes) and sorted sets (bytes -> float score),
expiring lazily against an injected monotonic `clock` (seconds) so tests can move
time without sleeping. Like Redis, an emptied hash or sorted set disappears.
"""

from __future__ import annotations

from collections.abc import Callable

Value = bytes | dict[bytes, bytes] | dict[bytes, float]


class WrongType(Exception):
    """A key holds another type than the operation expects (Redis WRONGTYPE)."""


class MemoryKeyspace:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._values: dict[str, Value] = {}
        self._expires_at_ms: dict[str, int] = {}

    def now_ms(self) -> int:
        """The clock in whole milliseconds (the unit of every deadline here)."""
        return int(self._clock() * 1000)

    def _live(self, key: str) -> Value | None:
        deadline = self._expires_at_ms.get(key)
        if deadline is not None and deadline <= self.now_ms():
            self.delete(key)
            return None
        return self._values.get(key)

    def exists(self, key: str) -> bool:
        return self._live(key) is not None

    def delete(self, key: str) -> bool:
        """Delete `key`; True if it existed."""
        self._expires_at_ms.pop(key, None)
        return self._values.pop(key, None) is not None

    def pexpire_at(self, key: str, deadline_ms: int) -> None:
        """Expire `key` at `deadline_ms` on this keyspace's clock (no-op if missing)."""
        if self._live(key) is not None:
            self._expires_at_ms[key] = deadline_ms

    def pttl(self, key: str) -> int:
        """Milliseconds left; -2 if missing, -1 if it never expires (as Redis PTTL)."""
        if self._live(key) is None:
            return -2
        deadline = self._expires_at_ms.get(key)
        return -1 if deadline is None else deadline - self.now_ms()

    def get(self, key: str) -> bytes | None:
        value = self._live(key)
        if value is not None and not isinstance(value, bytes):
            raise WrongType(key)
        return value

    def set(
        self, key: str, value: bytes, ttl_ms: int | None = None, keep_ttl: bool = False
    ) -> None:
        """Store a string; replaces the TTL with `ttl_ms` unless `keep_ttl`."""
        existed = self._live(key) is not None
        self._values[key] = value
        if keep_ttl and existed:
            return
        if ttl_ms is None:
            self._expires_at_ms.pop(key, None)
        else:
            self._expires_at_ms[key] = self.now_ms() + ttl_ms

    def hash(self, key: str) -> dict[bytes, bytes]:
        """The hash at `key`, created empty if missing (call `drop_if_empty` after writes)."""
        return self._container(key)  # type: ignore[return-value]

    def zset(self, key: str) -> dict[bytes, float]:
        """The sorted set at `key` (member -> score), created empty if missing."""
        return self._container(key)  # type: ignore[return-value]

    def _container(self, key: str) -> dict:
        value = self._live(key)
        if value is None:
            value = self._values[key] = {}
        elif not isinstance(value, dict):
            raise WrongType(key)
        return value

    def drop_if_empty(self, key: str) -> None:
        if self._values.get(key) == {}:
            self.delete(key)

    def keys(self) -> list[str]:
        """Every live key (for tests and debugging)."""
        return [key for key in list(self._values) if self._live(key) is not None]


def zset_order(zset: dict[bytes, float]) -> list[bytes]:
    """Members lowest score first, ties by member bytes (the Redis order)."""
    return sorted(zset, key=lambda member: (zset[member], member))
