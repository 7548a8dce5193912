"""Compiled rule sets per site, cached on each node and dropped when a rule changes.

A change on any node is announced on the `rules:<site>` channel; every node also
reloads after `MAX_AGE_S` in case an announcement was lost while the broker was down.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from invitations import CompiledRule, RuleSet, RuleValidationError, compile_rule
from server.store import rules as rule_queries
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


class RuleCache:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._sets: dict[str, tuple[RuleSet, dict[str, CompiledRule], dict[str, int], float]] = {}

    def invalidate(self, site_id: str) -> None:
        self._sets.pop(site_id, None)

    async def get(self, site_id: str) -> tuple[RuleSet, dict[str, CompiledRule], dict[str, int]]:
        """(rule set, rules by id, version by id) of the site's enabled rules."""
        cached = self._sets.get(site_id)
        if cached is not None and time.monotonic() - cached[3] < MAX_AGE_S:
            return cached[0], cached[1], cached[2]
        async with self.db.read() as conn:
            rows = await rule_queries.list_rules(conn, site_id, enabled_only=True)
        compiled: dict[str, CompiledRule] = {}
        versions: dict[str, int] = {}
        for row in rows:
            try:
                compiled[row["id"]] = compile_rule(rule_json(row))
                versions[row["id"]] = row["version"]
            except RuleValidationError as exc:  # stored before a stricter engine: skip it
                log.warning("rule %s no longer compiles: %s", row["id"], exc)
        rule_set = RuleSet(list(compiled.values()))
        self._sets[site_id] = (rule_set, compiled, versions, time.monotonic())
        return rule_set, compiled, versions
