"""Compiled rule sets per site, cached on each node and dropped when a rule changes.

A change on any node is announced on `RULES_CHANNEL` (`server/announced_cache.py`);
every node also reloads after `MAX_AGE_S` in case an announcement was lost while the
broker was down.
"""

from __future__ import annotations

import logging
from typing import Any

from invitations import CompiledRule, RuleSet, RuleValidationError, compile_rule
from server.announced_cache import AnnouncedCache
from server.store import rules as rule_queries
from server.store import sites as site_queries
from server.store.database import Database

log = logging.getLogger("beckon.rules")
MAX_AGE_S = 30.0
RULES_CHANNEL = "rules-changed"  # payload: the site id, as bytes


def rule_json(row: dict[str, Any]) -> dict[str, Any]:
    """The stored rule as the engine and the API see it (body plus its columns)."""
    return {
        **row["body"],
        "id": row["id"],
        "name": row["name"],
        "enabled": row["enabled"],
        "priority": row["priority"],
        "created_ts": row["created_ts"] / 1000,
    }


RuleSetEntry = tuple[RuleSet, dict[str, CompiledRule], dict[str, int]]


class RuleCache(AnnouncedCache[RuleSetEntry]):
    """(rule set, rules by id, version by id) of each site's enabled rules."""

    def __init__(self, db: Database) -> None:
        super().__init__(RULES_CHANNEL, self._compile, max_age_s=MAX_AGE_S)
        self.db = db

    async def _compile(self, site_id: str) -> RuleSetEntry:
        return await compile_site_rules(self.db, site_id)


async def compile_site_rules(db: Database, site_id: str) -> RuleSetEntry:
    """The site's enabled rules, compiled (what the live node runs; backtests too)."""
    async with db.read() as conn:
        rows = await rule_queries.list_rules(conn, site_id, enabled_only=True)
        site = await site_queries.get_site(conn, site_id)
    timezone = site["timezone"] if site else "UTC"  # time conditions read the site's clock
    compiled: dict[str, CompiledRule] = {}
    versions: dict[str, int] = {}
    for row in rows:
        try:
            compiled[row["id"]] = compile_rule(rule_json(row), timezone)
            versions[row["id"]] = row["version"]
        except RuleValidationError as exc:  # stored before a stricter engine: skip it
            log.warning("rule %s no longer compiles: %s", row["id"], exc)
    return RuleSet(list(compiled.values())), compiled, versions
