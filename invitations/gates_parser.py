"""Validating a rule's `gates` JSON into `Gates` (docs/rules.md, "Gates")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from invitations.errors import RuleError
from invitations.schedule import Schedule
from invitations.when_parser import is_number
from invitations.window_parser import parse_window

_GATE_FIELDS = frozenset(
    {
        "require_agent_online",
        "department",
        "schedule",
        "max_per_visit",
        "min_days_between",
        "cooldown_after_dismiss_s",
        "max_predicted_wait_s",
    }
)


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
    max_predicted_wait_s: float | None = None  # offer only when the wait is below this

    @property
    def paced(self) -> bool:
        """Reads the department's load: capacity or predicted wait."""
        return self.require_agent_online or self.max_predicted_wait_s is not None


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
    max_wait = data.get("max_predicted_wait_s")
    if max_wait is not None and (not is_number(max_wait) or max_wait <= 0):
        errors.append(
            RuleError(f"{path}.max_predicted_wait_s", "expected a number of seconds above 0")
        )
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
        max_predicted_wait_s=None if max_wait is None else float(max_wait),
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
            window = parse_window(item, f"{path}.windows[{i}]", errors)
            if window is not None:
                parsed.append(window)
    if len(errors) != before:
        return None
    return Schedule(tz, tuple(parsed))
