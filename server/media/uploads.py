"""Accepting an upload: bounded read → sniff → re-encode (images) → store → row.

The order is what makes a retry safe: the objects are written under a fresh attachment
id before the row that names them is committed, so a node killed part-way leaves at
most unreferenced objects (never a row without its bytes), and the client's retry with
the same `upload_id` either finds the committed row or starts over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request

from server.errors import ApiError
from server.ids import new_id, now_ms
from server.media.images import THUMB_MIME, reencode
from server.media.kinds import RefusedFile, safe_name, sniff
from server.media.signing import Grant, signed_path
from server.media.storage import MediaStorage, MediaUnavailable
from server.settings import Settings
from server.store import attachments as queries
from server.store.database import Database

log = logging.getLogger("beckon.media")
# REST status per refusal (server/media/kinds.py and images.py name the codes).
REFUSAL_STATUS = {
    "empty_file": 422,
    "unsupported_type": 415,
    "invalid_image": 422,
    "image_too_large": 413,
}


def object_key(row: dict[str, Any], variant: str) -> str:
    return f"{row['site_id']}/{row['id']}/{variant}"


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, at most `limit` bytes: a larger declared Content-Length is refused
    before anything is read, and an undeclared (chunked) body as soon as it passes."""
    message = f"the file is larger than {limit} bytes"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError("too_large", message)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError("too_large", message)
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class Upload:
    site_id: str
    conversation_id: str
    sender: str
    upload_id: str
    declared_name: str


class Media:
    """The node's attachment service: storage plus the settings that bound it."""

    def __init__(self, storage: MediaStorage, db: Database, settings: Settings) -> None:
        self.storage = storage
        self.db = db
        self.settings = settings

    async def find(self, upload: Upload) -> dict[str, Any] | None:
        async with self.db.read() as conn:
            return await queries.find_upload(
                conn, upload.conversation_id, upload.sender, upload.upload_id
            )

    async def accept(
        self, upload: Upload, data: bytes, allowed: tuple[str, ...] | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Store `data` as an attachment; (row, created). A repeat of an upload id
        returns the first row. `allowed` is the site's types (default: the node's).
        Raises ApiError for a refused file, the quota or an unreachable storage."""
        existing = await self.find(upload)
        if existing is not None:
            return existing, False
        try:
            kind = sniff(data, self.settings.media_types if allowed is None else allowed)
            image = None
            if kind.is_image:
                image = await asyncio.to_thread(
                    reencode,
                    data,
                    kind.mime,
                    self.settings.media_max_pixels,
                    self.settings.media_max_dimension,
                )
        except RefusedFile as refused:
            raise ApiError(
                refused.code, str(refused), status=REFUSAL_STATUS[refused.code]
            ) from None
        stored = image.data if image else data
        await self._check_quota(upload.site_id, len(stored))
        row = {
            "id": new_id("at"),
            "site_id": upload.site_id,
            "conversation_id": upload.conversation_id,
            "sender": upload.sender,
            "upload_id": upload.upload_id,
            "name": safe_name(upload.declared_name, kind),
            "mime": image.mime if image else kind.mime,
            "size": len(stored),
            "width": image.width if image else None,
            "height": image.height if image else None,
            "has_thumb": image is not None,
            "message_id": None,
            "created_ts": now_ms(),
        }
        try:
            await self.storage.put(object_key(row, "original"), stored, row["mime"])
            if image is not None:
                await self.storage.put(object_key(row, "thumb"), image.thumb, THUMB_MIME)
        except MediaUnavailable as exc:
            log.warning("upload %s not stored: %s", row["id"], exc)
            raise ApiError("unavailable", "file storage is unavailable; retry shortly") from None
        try:
            async with self.db.write() as conn:
                await queries.insert_attachment(conn, row)
        except IntegrityError:
            # A concurrent retry of the same upload id committed first: keep its row.
            await self.remove_objects(row)
            first = await self.find(upload)
            if first is None:
                raise
            return first, False
        return row, True

    async def _check_quota(self, site_id: str, size: int) -> None:
        # Checked before storing; concurrent uploads of one site may pass it together by
        # at most their own sizes (docs/protocol.md, Attachments).
        async with self.db.read() as conn:
            used = await queries.site_bytes(conn, site_id)
        quota = self.settings.media_site_quota_bytes
        if used + size > quota:
            raise ApiError(
                "quota_exceeded",
                f"the site's attachments would exceed its quota of {quota} bytes",
                status=413,
            )

    async def remove_objects(self, row: dict[str, Any]) -> None:
        await self.storage.delete(object_key(row, "original"))
        if row["has_thumb"]:
            await self.storage.delete(object_key(row, "thumb"))

    def sign(self, item: dict[str, Any], principal: str) -> dict[str, Any]:
        """A message frame's attachment `item` with `url` (and `thumb_url` for an image)
        signed for `principal` from now (webhook payloads)."""
        expires = int(time.time()) + self.settings.media_url_ttl_s
        signed = {**item, "url": self._url(item["id"], "original", principal, expires)}
        if "width" in item:
            signed["thumb_url"] = self._url(item["id"], "thumb", principal, expires)
        signed["url_expires_ts"] = expires * 1000
        return signed

    def _url(self, attachment_id: str, variant: str, principal: str, expires: int) -> str:
        grant = Grant(attachment_id, variant, principal, expires)
        return self.settings.base_url + signed_path(self.settings.secret_key, grant)

    def view(self, row: dict[str, Any], principal: str, now_s: int) -> dict[str, Any]:
        """The attachment as clients see it, with URLs signed for `principal`."""
        expires = now_s + self.settings.media_url_ttl_s

        def url(variant: str) -> str:
            return self._url(row["id"], variant, principal, expires)

        view: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "mime": row["mime"],
            "size": row["size"],
            "url": url("original"),
            "url_expires_ts": expires * 1000,
        }
        if row["has_thumb"]:
            view["width"], view["height"] = row["width"], row["height"]
            view["thumb_url"] = url("thumb")
        return view
