"""Agents' capacity over time, for a backtest: a step series per department
(docs/rules.md, "Backtests"). Pure.

Each `CapacityPoint` holds from its `from_ts` until the next point of the same
department. A department with no point in force has no agent online. With no series at
all the backtest assumes every department online with room to spare.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from invitations.facts import DepartmentLoad

UNBOUNDED_SLOTS = 1 << 30


@dataclass(frozen=True, slots=True)
class CapacityPoint:
    """From `from_ts` (seconds since the epoch) on: agents online and their free chat slots
    in `department` ("" = the whole site), and chats waiting in its queue."""

    from_ts: float
    department: str
    agents_online: int
    free_slots: int
    queued_chats: int = 0
    # Predicted-wait inputs (invitations.erlang); servers None = free_slots.
    servers: int | None = None
    arrivals_per_s: float = 0.0
    handle_time_s: float = 0.0


class CapacitySeries:
    """Look up a department's capacity at an instant. Immutable once built."""

    def __init__(self, points: Iterable[CapacityPoint] | None) -> None:
        self.unbounded = points is None
        by_dept: dict[str, list[CapacityPoint]] = {}
        for point in sorted(points or (), key=lambda p: (p.department, p.from_ts)):
            by_dept.setdefault(point.department, []).append(point)
        self._points = by_dept
        self._starts = {d: [p.from_ts for p in ps] for d, ps in by_dept.items()}

    def departments(self) -> Iterable[str]:
        return self._points.keys()

    def at(self, department: str, now: float) -> CapacityPoint | None:
        """The point in force at `now`, or None (nobody online)."""
        if self.unbounded:
            return CapacityPoint(0.0, department, 1, UNBOUNDED_SLOTS)
        starts = self._starts.get(department)
        if not starts:
            return None
        index = bisect.bisect_right(starts, now) - 1
        return self._points[department][index] if index >= 0 else None

    def load(self, department: str, now: float, pending: int) -> DepartmentLoad | None:
        point = self.at(department, now)
        if point is None:
            return None
        servers = point.free_slots if point.servers is None else point.servers
        return DepartmentLoad(
            point.agents_online,
            point.free_slots,
            pending,
            point.queued_chats,
            servers,
            point.arrivals_per_s,
            point.handle_time_s,
        )


def points_from_json(items: Iterable[Mapping[str, Any]], ts_unit: float = 0.001) -> list:
    """API/CLI form (`from_ts` in ms by default, `arrivals_per_hour`) → points.
    Raises ValueError naming the first bad item."""
    points = []
    for n, item in enumerate(items):
        try:
            points.append(
                CapacityPoint(
                    from_ts=float(item["from_ts"]) * ts_unit,
                    department=str(item.get("department") or ""),
                    agents_online=int(item["agents_online"]),
                    free_slots=int(item["free_slots"]),
                    queued_chats=int(item.get("queued_chats", 0)),
                    servers=None if item.get("servers") is None else int(item["servers"]),
                    arrivals_per_s=float(item.get("arrivals_per_hour", 0)) / 3600,
                    handle_time_s=float(item.get("handle_time_s", 0)),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"capacity[{n}]: {type(exc).__name__}: {exc}") from None
    return points
