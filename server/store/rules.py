"""Queries on invitation rules and their versions (a changed rule is a new version)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import rule_versions, rules


async def list_rules(
    conn: AsyncConnection, site_id: str, *, enabled_only: bool = False
) -> list[dict[str, Any]]:
    query = select(rules).where(rules.c.site_id == site_id, rules.c.deleted.is_(False))
    if enabled_only:
        query = query.where(rules.c.enabled.is_(True))
    query = query.order_by(rules.c.created_ts, rules.c.id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def get_rule(conn: AsyncConnection, site_id: str, rule_id: str) -> dict[str, Any] | None:
    query = select(rules).where(
        rules.c.id == rule_id, rules.c.site_id == site_id, rules.c.deleted.is_(False)
    )
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def insert_rule(conn: AsyncConnection, row: dict[str, Any], created_by: str | None) -> None:
    await conn.execute(rules.insert().values(**row))
    await conn.execute(
        rule_versions.insert().values(
            rule_id=row["id"],
            version=row["version"],
            body=row["body"],
            created_ts=row["updated_ts"],
            created_by=created_by,
        )
    )


async def update_rule(
    conn: AsyncConnection, row: dict[str, Any], *, new_version: bool, created_by: str | None
) -> None:
    values = {k: row[k] for k in ("name", "enabled", "priority", "version", "body", "updated_ts")}
    await conn.execute(update(rules).where(rules.c.id == row["id"]).values(**values))
    if new_version:
        await conn.execute(
            rule_versions.insert().values(
                rule_id=row["id"],
                version=row["version"],
                body=row["body"],
                created_ts=row["updated_ts"],
                created_by=created_by,
            )
        )


async def delete_rule(conn: AsyncConnection, rule_id: str, now: int) -> None:
    await conn.execute(
        update(rules)
        .where(rules.c.id == rule_id)
        .values(deleted=True, enabled=False, updated_ts=now)
    )


async def versions(conn: AsyncConnection, rule_id: str) -> list[dict[str, Any]]:
    query = (
        select(rule_versions)
        .where(rule_versions.c.rule_id == rule_id)
        .order_by(rule_versions.c.version.desc())
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]
