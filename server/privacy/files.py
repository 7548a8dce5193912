"""A person's files (attachments) in an export and an erasure.

Their files are every attachment of their conversations, whoever uploaded it (an agent's
answer to them is about them too). An export lists each file's metadata with URLs signed
for the site's agents (`BECKON_MEDIA_URL_TTL_S`), not the bytes inline: the export stays
one JSON document of bounded size, and whoever serves the request downloads the files
from the URLs while they are valid. An erasure deletes the stored objects (local disk or
S3) before the rows, so a storage that cannot be reached stops it before anything is
erased, and the request can simply be repeated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.media.uploads import Media
from server.store.attachments import attachments

EXPORTED = ("id", "conversation_id", "message_id", "sender", "name", "mime", "size", "created_ts")


async def rows_of(conn: AsyncConnection, conversation_ids: list[str]) -> list[dict[str, Any]]:
    """Every attachment of the conversations, oldest first."""
    if not conversation_ids:
        return []
    found = await conn.execute(
        select(attachments)
        .where(attachments.c.conversation_id.in_(conversation_ids))
        .order_by(attachments.c.created_ts, attachments.c.id)
    )
    return [dict(row) for row in found.mappings()]


def exported(media: Media, rows: list[dict[str, Any]], site_id: str, now_s: int) -> list[dict]:
    """The export's `attachments`: metadata and signed URLs (`url`, `thumb_url` for an
    image, `url_expires_ts`) for the site's agents."""
    out = []
    for row in rows:
        view = media.view(row, f"s:{site_id}", now_s)
        item = {key: row[key] for key in EXPORTED}
        item.update({k: v for k, v in view.items() if k not in item})
        out.append(item)
    return out


async def remove(media: Media, rows: list[dict[str, Any]]) -> None:
    """Delete the rows' stored objects (idempotent). Raises MediaUnavailable."""
    for row in rows:
        await media.remove_objects(row)
