"""The contract of a media storage: whole objects by key, nothing more.

Objects are small (bounded by BECKON_MEDIA_MAX_BYTES) and written once: an attachment
is never modified, only stored, read and deleted. Keys are chosen by the server (never
by a client), `check_key` still refuses anything that could leave the storage's root.
"""

from __future__ import annotations

import re
from typing import Protocol

_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_.-]{1,64}){0,4}")


class MediaNotFound(LookupError):
    """No object under that key."""


class MediaUnavailable(RuntimeError):
    """The storage cannot be reached or refused the operation; retry later."""


def check_key(key: str) -> str:
    """`key` if it is 1–5 safe path segments (no `..`, no leading `/`); else ValueError."""
    if not _KEY.fullmatch(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid media key {key!r}")
    return key


class MediaStorage(Protocol):
    """Every backend: put replaces atomically (a reader sees the old or the new whole
    object, never part of one); get of a missing key raises MediaNotFound; delete of a
    missing key is not an error; a backend that cannot be reached raises
    MediaUnavailable. `open()` and `close()` are called once, in the app's lifespan."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    async def keys(self, prefix: str) -> list[str]:
        """Every key that starts with `prefix` (a key prefix, not checked), sorted."""
        ...
