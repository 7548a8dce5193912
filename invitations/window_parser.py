"""Validating one weekly window `{"days", "from", "to"}` (docs/rules.md, "Gates" and
"Time of day"): shared by a schedule gate and a time condition."""

from __future__ import annotations

import re
from typing import Any

from invitations.errors import RuleError
from invitations.schedule import DAYS, Window

_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DAY_LIST = ", ".join(DAYS)
WINDOW_FIELDS = ("days", "from", "to")


def parse_window(
    data: Any, path: str, errors: list[RuleError], extra: tuple[str, ...] = ()
) -> Window | None:
    """The window at `path`, or None after appending its problems; `extra`: other keys
    the caller reads from the same object."""
    if not isinstance(data, dict):
        errors.append(RuleError(path, 'expected an object with "days", "from" and "to"'))
        return None
    before = len(errors)
    for key in data:
        if key not in WINDOW_FIELDS and key not in extra:
            errors.append(RuleError(f"{path}.{key}", "unknown field"))
    days = data.get("days")
    day_set: set[int] = set()
    if not isinstance(days, list) or not days:
        errors.append(RuleError(f"{path}.days", f"expected a list of days ({_DAY_LIST})"))
    else:
        for i, day in enumerate(days):
            if day not in DAYS:
                errors.append(RuleError(f"{path}.days[{i}]", f"expected one of {_DAY_LIST}"))
            else:
                day_set.add(DAYS.index(day))
    start = _clock(data.get("from"), f"{path}.from", False, errors)
    end = _clock(data.get("to"), f"{path}.to", True, errors)
    if start is not None and end is not None and start == end:
        errors.append(RuleError(f"{path}.to", '"to" must differ from "from"'))
    if len(errors) != before:
        return None
    return Window(frozenset(day_set), start, end)


def _clock(value: Any, path: str, allow_24: bool, errors: list[RuleError]) -> int | None:
    """Seconds after midnight for "HH:MM"; "24:00" only as an end."""
    if allow_24 and value == "24:00":
        return 86400
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        errors.append(RuleError(path, "expected a time as HH:MM, from 00:00 to 23:59"))
        return None
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60
