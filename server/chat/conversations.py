"""Conversation lifecycle on the Store: start (one open per visitor), accept, close.

Every change is a compare-and-set on the status (state.py), so concurrent actions on
several nodes resolve in the database: one wins, the others get `BadTransition`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from server.chat.state import Action, BadTransition, Status, next_status, sources_of
from server.ids import new_id, now_ms
from server.store import conversations as queries
from server.store.database import Database


async def ensure_visitor(
    db: Database, row: dict[str, Any], max_attributes: int | None = None
) -> None:
    """Insert or refresh the visitor's row (`upsert_visitor`, attributes capped)."""
    async with db.write() as conn:
        await queries.upsert_visitor(conn, row, max_attributes)


async def start(
    db: Database,
    *,
    site_id: str,
    visitor_id: str,
    department: str | None = None,
    rule_id: str | None = None,
    variant_id: str | None = None,
    invitation_id: str | None = None,
    head_start_s: float = 0,
) -> tuple[dict[str, Any], bool]:
    """Open a queued conversation, or return the visitor's open one.

    Returns (conversation, created). The partial unique index decides races: of two
    nodes starting at once, one inserts and the other reads the winner's row.
    """
    row = {
        "id": new_id("cv"),
        "site_id": site_id,
        "visitor_id": visitor_id,
        "status": Status.QUEUED.value,
        "department": department,
        "rule_id": rule_id,
        "variant_id": variant_id,
        "invitation_id": invitation_id,
        "last_seq": 0,
        "created_ts": now_ms(),
    }
    # The queue is ordered by queued_ts: a head start moves a priority visitor forward.
    row["queued_ts"] = row["created_ts"] - int(head_start_s * 1000)
    for _attempt in range(3):
        async with db.read() as conn:
            existing = await queries.open_conversation_of(conn, visitor_id)
        if existing is not None:
            return existing, False
        try:
            async with db.write() as conn:
                await queries.insert_conversation(conn, row)
            return row, True
        except IntegrityError:
            continue  # another node won the race: read its conversation
    raise RuntimeError("could not open or find the visitor's conversation")


async def get(db: Database, conversation_id: str) -> dict[str, Any] | None:
    async with db.read() as conn:
        return await queries.get_conversation(conn, conversation_id)


async def apply(
    db: Database, conversation_id: str, action: Action, values: dict[str, Any]
) -> dict[str, Any]:
    """Move the conversation along `action`, setting `values` with the new status.

    Raises BadTransition when the current status does not allow it (including when a
    concurrent change got there first) and LookupError when it does not exist.
    """
    async with db.write() as conn:
        current = await queries.get_conversation(conn, conversation_id)
        if current is None:
            raise LookupError(conversation_id)
        target = next_status(current["status"], action)
        changed = await queries.transition(
            conn,
            conversation_id,
            from_statuses=sources_of(action),
            values={"status": target.value, **values},
        )
        if not changed:
            raise BadTransition(current["status"], action)
        updated = await queries.get_conversation(conn, conversation_id)
    assert updated is not None
    return updated


async def accept(db: Database, conversation_id: str, agent_id: str) -> dict[str, Any]:
    return await apply(
        db, conversation_id, Action.ACCEPT, {"agent_id": agent_id, "accepted_ts": now_ms()}
    )


async def close(
    db: Database, conversation_id: str, by: str, missed_reason: str | None = None
) -> dict[str, Any]:
    """Close; `missed_reason` records why a chat that never got an agent ended."""
    values: dict[str, Any] = {"closed_ts": now_ms(), "closed_by": by}
    if missed_reason is not None:
        values["missed_reason"] = missed_reason
    return await apply(db, conversation_id, Action.CLOSE, values)
