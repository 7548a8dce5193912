"""Validating a rule's `gates` JSON into `Gates` (docs/rules.md, "Gates")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from invitations.errors import RuleError
from invitations.schedule import DAYS, Schedule, Window
from invitations.when_parser import is_number

_GATE_FIELDS = frozenset(
    {
        "require_agent_online",
        "department",
        "schedule",
        "max_per_visit",
        "min_days_between",
        "cooldown_after_dismiss_s",
    }
)
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DAY_LIST = ", ".join(DAYS)


@dataclass(frozen=True, slots=True)
class Gates:
    """A rule's gates; durations in seconds. None / 0 means the gate is off.

    `department` None means the whole site (load key "").
    """

    require_agent_online: bool = False
    department: str | None = None
    schedule: Schedule | None = None
    max_per_visit: int | None = None
    min_days_between: float = 0
    cooldown_after_dismiss_s: float = 0


def parse_gates(data: Any, path: str, errors: list[RuleError]) -> Gates | None:
    """The gates for `data` at `path`, or None after appending its problems."""
    if not isinstance(data, dict):
        errors.append(RuleError(path, "expected an object"))
        return None
    before = len(errors)
    for key in data:
        if key not in _GATE_FIELDS:
            errors.append(RuleError(f"{path}.{key}", "unknown field"))
    online = data.get("require_agent_online", False)
    if not isinstance(online, bool):
        errors.append(RuleError(f"{path}.require_agent_online", "expected true or false"))
    department = data.get("department")
    if department is not None and (not isinstance(department, str) or not department):
        errors.append(RuleError(f"{path}.department", "expected a department name"))
    max_per_visit = data.get("max_per_visit")
    if max_per_visit is not None and (
        max_per_visit.__class__ is bool or not isinstance(max_per_visit, int) or max_per_visit < 1
    ):
        errors.append(RuleError(f"{path}.max_per_visit", "expected a whole number ≥ 1"))
    durations = {}
    for key, unit in (("min_days_between", "days"), ("cooldown_after_dismiss_s", "seconds")):
        value = data.get(key, 0)
        if not is_number(value) or value < 0:
            errors.append(RuleError(f"{path}.{key}", f"expected a number of {unit} ≥ 0"))
        durations[key] = value
    schedule = None
    if data.get("schedule") is not None:
        schedule = _schedule(data["schedule"], f"{path}.schedule", errors)
    if len(errors) != before:
        return None
    return Gates(
        require_agent_online=online,
        department=department,
        schedule=schedule,
        max_per_visit=max_per_visit,
        min_days_between=durations["min_days_between"],
        cooldown_after_dismiss_s=durations["cooldown_after_dismiss_s"],
    )


def _schedule(data: Any, path: str, errors: list[RuleError]) -> Schedule | None:
    if not isinstance(data, dict):
        errors.append(RuleError(path, "expected an object with timezone and windows"))
        return None
    before = len(errors)
    for key in data:
        if key not in ("timezone", "windows"):
            errors.append(RuleError(f"{path}.{key}", "unknown field"))
    tz = data.get("timezone")
    if not isinstance(tz, str):
        errors.append(RuleError(f"{path}.timezone", "expected a time zone such as Europe/Zagreb"))
    else:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(RuleError(f"{path}.timezone", f'unknown time zone "{tz}"'))
    windows = data.get("windows")
    parsed = []
    if not isinstance(windows, list) or not windows:
        errors.append(RuleError(f"{path}.windows", "expected a list of at least one window"))
    else:
        for i, item in enumerate(windows):
            window = _window(item, f"{path}.windows[{i}]", errors)
            if window is not None:
                parsed.append(window)
    if len(errors) != before:
        return None
    return Schedule(tz, tuple(parsed))


def _window(data: Any, path: str, errors: list[RuleError]) -> Window | None:
    if not isinstance(data, dict):
        errors.append(RuleError(path, 'expected an object with "days", "from" and "to"'))
        return None
    before = len(errors)
    for key in data:
        if key not in ("days", "from", "to"):
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
