"""A `message` frame's `attachments`: checked before the message is stored, claimed by it
after, and shown on it wherever messages are read (ack, fan-out, resume, history).

The order keeps the message guarantees: a message whose references are bad is refused
before anything is stored; a stored message claims its attachments before it is acked,
and a retry (same `client_msg_id`) claims them again — so a node killed between the two
writes leaves nothing the client was told is done.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.store import attachments as queries
from server.store.attachments import attachments
from server.store.database import Database
from server.store.messages import find_by_client_id

MAX_PER_MESSAGE = 10
# What a message frame says of each attachment; URLs are signed per reader, on request
# (GET /conversations/{id}/attachments/{attachment_id}).
FRAME_FIELDS = ("id", "name", "mime", "size", "width", "height")


class BadReference(ValueError):
    """`code` is the error frame's code; the text names the attachment."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def check(
    db: Database, conversation_id: str, sender: str, client_msg_id: str, ids: list[str]
) -> None:
    """Every id is an attachment this sender uploaded into this conversation that no other
    message has claimed (a retry of this message may find them claimed by itself)."""
    if len(set(ids)) != len(ids):
        raise BadReference("invalid_frame", "an attachment is listed twice")
    async with db.read() as conn:
        found = await conn.execute(select(attachments).where(attachments.c.id.in_(ids)))
        rows = {row["id"]: dict(row) for row in found.mappings()}
        retried = await find_by_client_id(conn, conversation_id, sender, client_msg_id)
    for attachment_id in ids:
        row = rows.get(attachment_id)
        if row is None or row["conversation_id"] != conversation_id or row["sender"] != sender:
            raise BadReference("not_found", f"no such attachment '{attachment_id}'")
        claimed = row["message_id"]
        if claimed is not None and (retried is None or claimed != retried["id"]):
            raise BadReference("conflict", f"attachment '{attachment_id}' is already sent")


async def claim(db: Database, message: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    """Mark `ids` as the stored `message`'s (idempotent); the row with `attachments`."""
    async with db.write() as conn:
        await queries.claim_for_message(
            conn, ids, message["conversation_id"], message["sender"], message["id"]
        )
    async with db.read() as conn:
        shown = await on_messages([message], conn)
    return shown[0]


async def on_messages(conn_rows: list[dict[str, Any]], conn: Any) -> list[dict[str, Any]]:
    """`rows` with `attachments` (frame fields, in upload order) on those that have any."""
    ids = [row["id"] for row in conn_rows]
    if not ids:
        return conn_rows
    found = await conn.execute(
        select(attachments)
        .where(attachments.c.message_id.in_(ids))
        .order_by(attachments.c.created_ts, attachments.c.id)
    )
    by_message: dict[str, list[dict[str, Any]]] = {}
    for row in found.mappings():
        item = {key: row[key] for key in FRAME_FIELDS if row[key] is not None}
        by_message.setdefault(row["message_id"], []).append(item)
    return [
        {**row, "attachments": by_message[row["id"]]} if row["id"] in by_message else row
        for row in conn_rows
    ]
