"""Weekly schedule windows in a rule's time zone, DST-correct (docs/rules.md, "Gates").

A window is read against the local wall clock: on the spring-forward night a window
inside the skipped hour never opens, and on the fall-back night a wall time that
occurs twice is inside the window both times. `next_change` finds the exact first
instant after `now` at which `is_open` flips, including the DST jump itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_S = 86400


@dataclass(frozen=True, slots=True)
class Window:
    """Open on `days` (0 = Monday) from `start_s` to `end_s` seconds after local midnight.

    `end_s` ≤ `start_s` means the window runs past midnight into the next day;
    `end_s` = 86400 is "24:00".
    """

    days: frozenset[int]
    start_s: int
    end_s: int

    @property
    def overnight(self) -> bool:
        return self.end_s <= self.start_s


class Schedule:
    """Windows in one IANA time zone. Instances are shared by every visitor's evaluation
    and remember the last interval they computed (a pure memo: same answers, faster)."""

    __slots__ = ("_memo", "timezone", "windows", "zone")

    def __init__(self, timezone: str, windows: tuple[Window, ...]) -> None:
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.windows = windows
        # (from, until, open, change): `open` holds for every instant in [from, until).
        self._memo: tuple[float, float, bool, float | None] = (math.inf, -math.inf, False, None)

    def __repr__(self) -> str:
        return f"Schedule({self.timezone!r}, {self.windows!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and (self.timezone, self.windows) == (
            other.timezone,
            other.windows,
        )

    def __hash__(self) -> int:
        return hash((self.timezone, self.windows))

    def state(self, now: float) -> tuple[bool, float | None]:
        """(is the schedule open at `now`, first instant after `now` when that flips or None).

        `now` is seconds since the epoch; None means no change within the coming week,
        i.e. never (the schedule is weekly).
        """
        start, until, is_open, change = self._memo
        if start <= now < until:
            return is_open, change
        is_open = self.is_open(now)
        change = self._next_change(now, is_open)
        until = now + 7 * _DAY_S if change is None else change
        self._memo = (now, until, is_open, change)
        return is_open, change

    def is_open(self, now: float) -> bool:
        local = datetime.fromtimestamp(now, self.zone)
        weekday = local.weekday()
        seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        yesterday = (weekday - 1) % 7
        for w in self.windows:
            if w.overnight:
                if (weekday in w.days and seconds >= w.start_s) or (
                    yesterday in w.days and seconds < w.end_s
                ):
                    return True
            elif weekday in w.days and w.start_s <= seconds < w.end_s:
                return True
        return False

    def _next_change(self, now: float, is_open: bool) -> float | None:
        for instant in self._candidates(now):
            if self.is_open(instant) != is_open:
                return instant
        return None

    def _candidates(self, now: float) -> list[float]:
        """Every instant in the coming ~8 days at which the state could flip: window
        edges in both folds of an ambiguous wall time, plus the UTC-offset changes."""
        today = datetime.fromtimestamp(now, self.zone).date()
        found: set[float] = set()
        for offset in range(-1, 9):
            day = today + timedelta(days=offset)
            for w in self.windows:
                if day.weekday() not in w.days:
                    continue
                found.update(self._instants(day, w.start_s))
                end_day = day + timedelta(days=1) if w.overnight or w.end_s == _DAY_S else day
                found.update(self._instants(end_day, w.end_s % _DAY_S))
            found.update(self._offset_changes(day))
        return sorted(t for t in found if t > now)

    def _instants(self, day: date, seconds: int) -> tuple[float, float]:
        wall = time(seconds // 3600, seconds % 3600 // 60, tzinfo=self.zone)
        first = datetime.combine(day, wall)
        return first.timestamp(), first.replace(fold=1).timestamp()

    def _offset_changes(self, day: date) -> list[float]:
        lo = int(datetime.combine(day, time(0, tzinfo=self.zone)).timestamp())
        hi = lo + _DAY_S + 3 * 3600  # a local day is at most 25 h long
        if self._offset(lo) == self._offset(hi):
            return []
        target = self._offset(hi)
        while hi - lo > 1:  # first whole second with the new offset
            mid = (lo + hi) // 2
            if self._offset(mid) == target:
                hi = mid
            else:
                lo = mid
        return [float(hi)]

    def _offset(self, instant: float) -> timedelta | None:
        return datetime.fromtimestamp(instant, self.zone).utcoffset()
