"""Attachments: where uploaded files live, and what may be kept and served.

Pick a storage by URL with `open_media_storage` (style habit 2): a local directory
(`file:///path`, the default beside the SQLite file) or S3-compatible object storage
(`s3://bucket/prefix`). See storage.py for the contract every backend meets.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit

from server.media.storage import MediaNotFound, MediaStorage, MediaUnavailable, check_key

__all__ = [
    "MediaNotFound",
    "MediaStorage",
    "MediaUnavailable",
    "check_key",
    "open_media_storage",
]


def _local(url: str, endpoint: str, region: str) -> MediaStorage:
    module = import_module("server.media.local_storage")
    return module.LocalStorage(Path(urlsplit(url).path))


def _s3(url: str, endpoint: str, region: str) -> MediaStorage:
    # Imported lazily: a local install never imports botocore.
    module = import_module("server.media.s3_storage")
    parts = urlsplit(url)
    return module.S3Storage(
        bucket=parts.netloc, prefix=parts.path.strip("/"), endpoint=endpoint, region=region
    )


_FACTORIES: dict[str, Callable[[str, str, str], MediaStorage]] = {"file": _local, "s3": _s3}


def open_media_storage(url: str, endpoint: str = "", region: str = "us-east-1") -> MediaStorage:
    """A storage for `url` (not yet opened: call `open()` in the lifespan).

    Raises ValueError for an unknown scheme, a bucket-less `s3://` or a relative path.
    """
    parts = urlsplit(url)
    factory = _FACTORIES.get(parts.scheme)
    if factory is None:
        raise ValueError(
            f"unknown media storage scheme {parts.scheme!r} (expected file:// or s3://)"
        )
    if parts.scheme == "s3" and not parts.netloc:
        raise ValueError("an s3:// media URL needs a bucket: s3://bucket/prefix")
    if parts.scheme == "file" and not parts.path.startswith("/"):
        raise ValueError("a file:// media URL needs an absolute path: file:///var/lib/beckon/media")
    return factory(url, endpoint, region)
