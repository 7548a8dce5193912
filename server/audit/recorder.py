"""Writing audit entries: the one function every change calls (directly or via the router).

Secrets never enter the log: keys that name one are replaced by "[redacted]" at any depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from server.ids import now_ms
from server.store.database import Database
from server.store.tables import audit_log

REDACTED = "[redacted]"
# Exact key names, and any key ending in these (identity_secret, token_hash, …).
SECRET_KEYS = frozenset({"secret", "password", "token", "csrf_token"})
SECRET_SUFFIXES = ("_secret", "_hash", "password")
TARGET_CHARS = 200


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change; `id` None means the system (the CLI, the janitor)."""

    id: str | None
    email: str | None
    role: str | None

    @classmethod
    def of(cls, user: dict[str, Any]) -> Actor:
        return cls(user["id"], user.get("email"), user.get("role"))


SYSTEM = Actor(None, None, None)


def redact(value: Any) -> Any:
    """`value` with every secret-named key's value replaced (a copy; JSON-shaped input)."""
    if isinstance(value, dict):
        return {
            k: REDACTED if _is_secret(str(k)) and v is not None else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _is_secret(key: str) -> bool:
    key = key.lower()
    return key in SECRET_KEYS or key.endswith(SECRET_SUFFIXES)


async def record_in(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    target: str | None,
    before: Any = None,
    after: Any = None,
    ip: str | None = None,
    *,
    site_id: str | None = None,
    ts: int | None = None,
) -> None:
    """Add one entry inside the caller's transaction (so the change and its record
    commit together). `action` is "<thing>.<verb>" (e.g. "rule.update"); `before` and
    `after` are JSON-shaped (None when there is nothing to show)."""
    await conn.execute(
        insert(audit_log).values(
            ts=now_ms() if ts is None else ts,
            actor_id=actor.id,
            actor_email=actor.email,
            actor_role=actor.role,
            ip=ip,
            action=action,
            site_id=site_id,
            target=None if target is None else target[:TARGET_CHARS],
            before=redact(before),
            after=redact(after),
        )
    )


async def record(
    db: Database,
    actor: Actor,
    action: str,
    target: str | None,
    before: Any = None,
    after: Any = None,
    ip: str | None = None,
    *,
    site_id: str | None = None,
) -> None:
    """`record_in` in a transaction of its own."""
    async with db.write() as conn:
        await record_in(conn, actor, action, target, before, after, ip, site_id=site_id)
