"""The predicted wait's inputs from the Store: per department, the arrival rate of new
chats over the last `window_s` and the mean duration of the chats closed in the last
hour (docs/rules.md, "Gates", `max_predicted_wait_s`). Chat slots come from presence."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from server.store.database import Database
from server.store.tables import conversations

HANDLE_WINDOW_S = 3600


@dataclass(frozen=True, slots=True)
class Rates:
    """Per department ("" = the whole site): (new chats, seconds of chat closed, closed)."""

    window_s: float
    default_handle_s: float
    arrivals: dict[str, int] = field(default_factory=dict)
    handled_s: dict[str, float] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)

    def for_department(self, dept: str) -> tuple[float, float]:
        """(arrivals per second, mean handle time in seconds) for `dept`; "" sums all."""
        if dept:
            arrivals = self.arrivals.get(dept, 0)
            handled, closed = self.handled_s.get(dept, 0.0), self.closed.get(dept, 0)
        else:
            arrivals = sum(self.arrivals.values())
            handled, closed = sum(self.handled_s.values()), sum(self.closed.values())
        handle = handled / closed if closed else self.default_handle_s
        return arrivals / self.window_s, handle


class WaitInputs:
    def __init__(self, db: Database, window_s: float = 900, default_handle_s: float = 300) -> None:
        self.db = db
        self.window_s = window_s
        self.default_handle_s = default_handle_s

    async def rates(self, site_id: str, now: float) -> Rates:
        now_ms = int(now * 1000)
        # Grouped by the bare column (a COALESCE with a bound "" is not the same
        # expression to PostgreSQL in SELECT and GROUP BY); NULL means no department.
        dept = conversations.c.department
        arrivals = (
            select(dept, func.count())
            .where(
                conversations.c.site_id == site_id,
                conversations.c.created_ts >= now_ms - int(self.window_s * 1000),
            )
            .group_by(dept)
        )
        started = func.coalesce(conversations.c.accepted_ts, conversations.c.created_ts)
        handled = (
            select(dept, func.sum(conversations.c.closed_ts - started), func.count())
            .where(
                conversations.c.site_id == site_id,
                conversations.c.closed_ts >= now_ms - HANDLE_WINDOW_S * 1000,
                conversations.c.accepted_ts.is_not(None),
            )
            .group_by(dept)
        )
        async with self.db.read() as conn:
            counts = {d: int(n) for d, n in await conn.execute(arrivals)}
            sums = [
                (d, float(total or 0) / 1000, int(n)) for d, total, n in await conn.execute(handled)
            ]
        return Rates(
            self.window_s,
            self.default_handle_s,
            counts,
            {d: total for d, total, _ in sums},
            {d: n for d, _, n in sums},
        )
