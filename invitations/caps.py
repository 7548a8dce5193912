"""Per-visitor history, site context and the gates they drive (docs/rules.md, "Gates", "Actions").

`VisitorCounters` is the visitor's invitation history, kept by the caller (the server
stores it beside the facts, e.g. in Redis, via `to_dict`/`from_dict`) and updated with
its `record_*` / `with_*` methods after acting on the engine's actions. Per-visit
counts belong to the visit that began at `visit_started` (the facts' own
`visit_started`); a new visit reads them as zero.

Gate codes: `open_conversation`, `invitation_on_screen`, `invitation_pending`,
`fatigue` (site budget per visit or per rolling 24 h), `max_per_visit`,
`min_days_between`, `cooldown`, `schedule_closed`, `agent_offline`, `no_capacity`,
`predicted_wait`.
Instants are float seconds since the epoch; durations are seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from invitations.erlang import predict_wait
from invitations.facts import DepartmentLoad
from invitations.timing import first_instant

DAY_S = 86400.0
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Pending:
    """A fired invitation waiting for its `delay_s`; shown at `due` if gates still pass."""

    rule_id: str
    variant_id: str
    due: float

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "variant_id": self.variant_id, "due": self.due}


class VisitorCounters(NamedTuple):
    """One visitor's invitation history. Immutable; every method returns a new one.
    (A NamedTuple, like VisitorFacts, because it is copied on every recorded action.)"""

    visit_started: float | None = None  # the visit the per-visit counts belong to
    visit_invites: int = 0  # invitations shown this visit, all rules (fatigue)
    rule_visit_counts: Mapping[str, int] = _EMPTY
    rule_last_ts: Mapping[str, float] = _EMPTY
    last_dismissed: float | None = None
    shown_ts: tuple[float, ...] = ()  # invitations shown in the last 24 h (fatigue)
    on_screen: bool = False
    open_conversation: bool = False
    pending: Pending | None = None

    def rule_count(self, rule_id: str, visit_started: float | None) -> int:
        """Invitations + holdouts of `rule_id` in the visit that began at `visit_started`."""
        if visit_started != self.visit_started:
            return 0
        return self.rule_visit_counts.get(rule_id, 0)

    def _for_visit(self, visit_started: float | None) -> VisitorCounters:
        if visit_started == self.visit_started:
            return self
        return self._replace(visit_started=visit_started, visit_invites=0, rule_visit_counts=_EMPTY)

    def record_invite(
        self, rule_id: str, now: float, visit_started: float | None
    ) -> VisitorCounters:
        """After showing (sending) an invitation of `rule_id` at `now`."""
        c = self._for_visit(visit_started)
        counts = dict(c.rule_visit_counts)
        counts[rule_id] = counts.get(rule_id, 0) + 1
        return c._replace(
            visit_invites=c.visit_invites + 1,
            rule_visit_counts=MappingProxyType(counts),
            rule_last_ts=MappingProxyType({**c.rule_last_ts, rule_id: now}),
            shown_ts=(*(t for t in c.shown_ts if now - t < DAY_S), now),
            on_screen=True,
            pending=None,
        )

    def record_holdout(
        self, rule_id: str, now: float, visit_started: float | None
    ) -> VisitorCounters:
        """After recording a holdout: it counts for the rule's own caps (so a held-out
        visitor is held out as often as an invited one would be invited), not for
        the site fatigue budget, and nothing is on screen."""
        c = self._for_visit(visit_started)
        counts = dict(c.rule_visit_counts)
        counts[rule_id] = counts.get(rule_id, 0) + 1
        return c._replace(
            rule_visit_counts=MappingProxyType(counts),
            rule_last_ts=MappingProxyType({**c.rule_last_ts, rule_id: now}),
        )

    def with_pending(self, rule_id: str, variant_id: str, due: float) -> VisitorCounters:
        """After an `Invite` with delay_s > 0: remember it until `due` (= now + delay_s)."""
        return self._replace(pending=Pending(rule_id, variant_id, due))

    def clear_pending(self) -> VisitorCounters:
        """After a `CancelPending`."""
        return self._replace(pending=None)

    def record_dismiss(self, now: float) -> VisitorCounters:
        """The visitor dismissed the invitation on screen at `now`."""
        return self._replace(last_dismissed=now, on_screen=False)

    def record_closed_invitation(self) -> VisitorCounters:
        """The invitation on screen was accepted, expired or withdrawn (not dismissed)."""
        return self._replace(on_screen=False)

    def with_conversation(self, is_open: bool) -> VisitorCounters:
        """A conversation opened (accepted invitation, chat_start) or closed."""
        return self._replace(open_conversation=is_open)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; exact round trip with `from_dict`."""
        out = self._asdict()
        out["pending"] = None if self.pending is None else self.pending.to_dict()
        out["rule_visit_counts"] = dict(self.rule_visit_counts)
        out["rule_last_ts"] = dict(self.rule_last_ts)
        out["shown_ts"] = list(self.shown_ts)
        out["v"] = 1
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VisitorCounters:
        """Inverse of `to_dict`. Raises ValueError for an unknown version."""
        if data.get("v") != 1:
            raise ValueError(f"unsupported counters version {data.get('v')!r}")
        kwargs = {k: v for k, v in data.items() if k != "v"}
        kwargs["rule_visit_counts"] = MappingProxyType(dict(kwargs.get("rule_visit_counts", {})))
        kwargs["rule_last_ts"] = MappingProxyType(dict(kwargs.get("rule_last_ts", {})))
        kwargs["shown_ts"] = tuple(kwargs.get("shown_ts", ()))
        if kwargs.get("pending") is not None:
            kwargs["pending"] = Pending(**kwargs["pending"])
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class SiteContext:
    """Site-level inputs: live load per department ("" = the whole site, used by rules
    without a department), the site's default language and its fatigue budget."""

    departments: Mapping[str, DepartmentLoad] = field(default_factory=lambda: _EMPTY)
    default_lang: str = "en"
    max_invitations_per_visit: int | None = None
    max_invitations_per_day: int | None = None  # over a rolling 24 h

    def load_for(self, department: str | None) -> DepartmentLoad | None:
        return self.departments.get(department or "")


def daily_count(counters: VisitorCounters, now: float) -> int:
    return sum(1 for t in counters.shown_ts if now - t < DAY_S)


def visitor_gate(
    counters: VisitorCounters, site: SiteContext, visit_started: float | None, now: float
) -> tuple[str | None, float | None]:
    """(code of the visitor-level gate that blocks every rule or None, when it may lift
    by time alone or None). Pending invitations are handled by the engine."""
    if counters.open_conversation:
        return "open_conversation", None
    if counters.on_screen:
        return "invitation_on_screen", None
    per_visit = site.max_invitations_per_visit
    if per_visit is not None:
        # A visit the counters have not seen yet has shown nothing (a budget of 0 holds).
        shown = counters.visit_invites if visit_started == counters.visit_started else 0
        if shown >= per_visit:
            return "fatigue", None
    per_day = site.max_invitations_per_day
    if per_day is not None:
        recent = sorted(t for t in counters.shown_ts if now - t < DAY_S)
        if len(recent) >= per_day:
            # Lifts when enough of the oldest have left the 24 h window.
            oldest = recent[len(recent) - per_day]
            return "fatigue", first_instant(oldest, DAY_S, False)
    return None, None


def daily_budget_lifted_at(counters: VisitorCounters, site: SiteContext, wake: float) -> bool:
    """True when the daily budget blocked just before `wake` and not at `wake`: a wake
    that lifts it must re-evaluate every rule, not only the time-driven ones."""
    per_day = site.max_invitations_per_day
    if per_day is None or not counters.shown_ts:
        return False
    just_before = math.nextafter(wake, -math.inf)
    return daily_count(counters, just_before) >= per_day > daily_count(counters, wake)


def time_gate(
    gates: Any, rule_id: str, counters: VisitorCounters, now: float
) -> tuple[str | None, float | None]:
    """The rule's time-driven gates: (blocking code or None, instant it lifts or None)."""
    if gates.min_days_between:
        last = counters.rule_last_ts.get(rule_id)
        span = gates.min_days_between * DAY_S
        if last is not None and now - last < span:
            return "min_days_between", first_instant(last, span, False)
    cooldown = gates.cooldown_after_dismiss_s
    if cooldown and counters.last_dismissed is not None:
        if now - counters.last_dismissed < cooldown:
            return "cooldown", first_instant(counters.last_dismissed, cooldown, False)
    if gates.schedule is not None:
        is_open, change = gates.schedule.state(now)
        if not is_open:
            return "schedule_closed", change
    return None, None


def capacity_gate(gates: Any, load: DepartmentLoad | None) -> str | None:
    """With require_agent_online: an agent must be online and have a free slot left
    after pending invitations and queued chats (so a popular rule cannot flood them).
    With max_predicted_wait_s: the department's predicted wait (Erlang C) must be below
    it — a visitor who accepts is answered soon, not queued."""
    if not gates.paced:
        return None
    if load is None or load.agents_online <= 0:
        return "agent_offline"
    if gates.require_agent_online:
        if load.pending_invitations + load.queued_chats >= load.free_slots:
            return "no_capacity"
    limit = gates.max_predicted_wait_s
    if limit is not None:
        wait = predict_wait(load.servers, load.arrivals_per_s, load.handle_time_s)
        if not wait.predicted_wait_s < limit:
            return "predicted_wait"
    return None
