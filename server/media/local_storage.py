"""Media on the local disk: one file per key under a root directory.

Writes go to a temporary file in the same directory and are renamed into place, so
a node killed mid-write leaves no half object under a key. Disk I/O runs in a thread:
the event loop never waits on the filesystem.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from server.media.storage import MediaNotFound, MediaUnavailable, check_key

_TMP_SUFFIX = ".part"


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    async def open(self) -> None:
        try:
            await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaUnavailable(f"media directory {self.root}: {exc.strerror}") from None

    async def close(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{_TMP_SUFFIX}")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise MediaUnavailable(f"media write failed: {exc.strerror}") from None

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise MediaNotFound(key) from None
        except OSError as exc:
            raise MediaUnavailable(f"media read failed: {exc.strerror}") from None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except IsADirectoryError:
            return None
        except OSError as exc:
            raise MediaUnavailable(f"media delete failed: {exc.strerror}") from None

    async def keys(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._keys, prefix)

    def _keys(self, prefix: str) -> list[str]:
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.endswith(_TMP_SUFFIX):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)
