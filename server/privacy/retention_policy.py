"""How long a site keeps each kind of record (pure: settings and `now` in, cutoffs out).

A site's `settings` may hold, per kind, a number of days (1–3650), "forever", or
nothing/null — then the node's default (`BECKON_*_RETENTION_DAYS`, where 0 is forever)
applies. Records older than the cutoff are deleted by the janitor
(`server/privacy/retention.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DAY_MS = 86_400_000
FOREVER = "forever"
# kind -> the site setting that names its days
SITE_KEYS = {
    "transcripts": "retention_transcripts_days",
    "visits": "retention_visits_days",
    "decisions": "retention_decisions_days",
    "offline_messages": "retention_offline_messages_days",
    "attachments": "retention_attachments_days",
}
KINDS = tuple(SITE_KEYS)


@dataclass(frozen=True, slots=True)
class Defaults:
    """The node's defaults in days; 0 keeps forever."""

    transcripts: int = 0
    visits: int = 30
    decisions: int = 0
    offline_messages: int = 0
    attachments: int = 0


def days_for(site_settings: dict[str, Any] | None, defaults: Defaults) -> dict[str, int | None]:
    """kind -> days kept (None: forever)."""
    chosen = site_settings or {}
    out: dict[str, int | None] = {}
    for kind, key in SITE_KEYS.items():
        value = chosen.get(key)
        if value is None:
            value = getattr(defaults, kind) or FOREVER
        out[kind] = None if value == FOREVER else int(value)
    return out


def cutoffs(
    site_settings: dict[str, Any] | None, defaults: Defaults, now_ms: int
) -> dict[str, int | None]:
    """kind -> records strictly older than this (ms) go; None: kept forever."""
    return {
        kind: None if days is None else now_ms - days * DAY_MS
        for kind, days in days_for(site_settings, defaults).items()
    }
