"""The audit log in the Store, on SQLite and PostgreSQL: the recorder keeps secrets out,
filters narrow, and retention removes only entries past it (a moved clock)."""

from __future__ import annotations

from server.audit import Actor, record, record_in
from server.audit.pruner import DAY_MS, prune_audit_log
from server.audit.queries import AuditFilter, entries
from server.store.database import Database

ADMIN = Actor("us_1", "admin@example.com", "admin")
NOW = 1_800_000_000_000


async def test_record_keeps_who_what_where_and_redacts_secrets(db: Database) -> None:
    await record(
        db,
        ADMIN,
        "site.update",
        "st_1",
        {"name": "A", "identity_secret": "s3cret", "nested": [{"token_hash": "h"}]},
        {"name": "B", "identity_secret": "n3w", "password": None},
        "203.0.113.9",
        site_id="st_1",
    )
    async with db.read() as conn:
        [entry] = await entries(conn, AuditFilter(), 10)
    assert {k: v for k, v in entry.items() if k not in ("id", "ts")} == {
        "actor_id": "us_1",
        "actor_email": "admin@example.com",
        "actor_role": "admin",
        "ip": "203.0.113.9",
        "action": "site.update",
        "site_id": "st_1",
        "target": "st_1",
        "before": {
            "name": "A",
            "identity_secret": "[redacted]",
            "nested": [{"token_hash": "[redacted]"}],
        },
        "after": {"name": "B", "identity_secret": "[redacted]", "password": None},
    }  # fmt: skip


async def test_filters(db: Database) -> None:
    agent = Actor("us_2", "agent@example.com", "agent")
    async with db.write() as conn:
        await record_in(conn, ADMIN, "rule.create", "ru_1", site_id="st_1", ts=NOW)
        await record_in(conn, ADMIN, "rule.update", "ru_1", site_id="st_1", ts=NOW + 1)
        await record_in(conn, agent, "ban.create", "bn_1", site_id="st_2", ts=NOW + 2)
        await record_in(conn, ADMIN, "rules.x", "ru_9", site_id="st_1", ts=NOW + 3)

    async def targets(**kw: object) -> list[str]:
        async with db.read() as conn:
            return [e["action"] for e in await entries(conn, AuditFilter(**kw), 10)]

    assert await targets() == ["rules.x", "ban.create", "rule.update", "rule.create"]
    assert await targets(action="rule.") == ["rule.update", "rule.create"]  # not "rules."
    assert await targets(action="rule.update") == ["rule.update"]
    assert await targets(site_id="st_2") == ["ban.create"]
    assert await targets(actor_id="us_1", since=NOW + 1, until=NOW + 3) == ["rule.update"]
    async with db.read() as conn:
        newest = (await entries(conn, AuditFilter(), 1))[0]["id"]
    assert await targets(before_id=newest) == ["ban.create", "rule.update", "rule.create"]


async def test_retention_removes_only_entries_past_it(db: Database) -> None:
    async with db.write() as conn:
        for age_days in (400, 366, 364, 1):
            await record_in(
                conn, ADMIN, f"site.update.{age_days}", "st_1", ts=NOW - age_days * DAY_MS
            )
    assert await prune_audit_log(db, 365, NOW) == 2
    async with db.read() as conn:
        left = [e["action"] for e in await entries(conn, AuditFilter(), 10)]
    assert left == ["site.update.1", "site.update.364"]
    # A year later by the clock, everything is past it; nothing left is idempotent.
    assert await prune_audit_log(db, 365, NOW + 365 * DAY_MS) == 2
    assert await prune_audit_log(db, 365, NOW + 365 * DAY_MS) == 0
