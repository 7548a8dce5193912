"""Is the site open now? Pure: the caller passes `now` (UTC seconds)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def is_open(hours: dict[str, Any] | None, timezone: str, now: float) -> bool:
    """True when `now` falls in a window of `hours` in the site's time zone.

    `hours` is `{"windows": [{"days": [...], "from": "HH:MM", "to": "HH:MM"}],
    "holidays": ["YYYY-MM-DD"]}`; None or no windows means always open. Local wall-clock
    time is used, so a window "08:00-18:00" means 08:00-18:00 on both sides of a DST
    change (the hour that does not exist simply never matches).
    """
    if not hours or not hours.get("windows"):
        return True
    local = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(timezone))
    if local.date().isoformat() in set(hours.get("holidays") or ()):
        return False
    day = DAYS[local.weekday()]
    minute = local.hour * 60 + local.minute
    for window in hours["windows"]:
        start, end = _minutes(window["from"]), _minutes(window["to"])
        if day in window["days"] and start <= minute < end:
            return True
        # A window past midnight ("22:00"-"06:00") continues into the next day.
        if end <= start:
            yesterday = DAYS[(local.weekday() - 1) % 7]
            if day in window["days"] and minute >= start:
                return True
            if yesterday in window["days"] and minute < end:
                return True
    return False
