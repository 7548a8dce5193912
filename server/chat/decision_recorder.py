"""Decisions over time, on the node: which visitors are recorded (per-site sampling),
what changed after each evaluation, and the invitation's life after it was sent.

The pure part — outcomes, changes, the per-visit cap, the sample — is
`invitations/decisions.py`; this module feeds it the node's state and hands the rows to
the Store's batch writer (`server/store/decisions.py`), never waiting for the Store.

Sampling: each node lets `full_per_min` visitors a minute per site begin a recorded
visit (a visit is recorded from its first change on, whole); past that, only
`sample_pct` percent of the further visitors, chosen by a hash of their id — their rows
say `sampled`. A visit records at most `MAX_CHANGES_PER_VISIT` changes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from invitations.caps import SiteContext
from invitations.decisions import Change, Tracker, admit, rule_outcomes, rules_to_check, stage
from invitations.rule_set import RuleSet
from server.store.database import Database
from server.store.decisions import DecisionLog, timeline

# Chats opened by recorded invitations, waiting for the visitor's first words (per node).
MAX_OPEN_CHATS = 10_000


class DecisionRecorder:
    def __init__(self, log: DecisionLog | None, full_per_min: int, sample_pct: int) -> None:
        self.log = log
        self.full_per_min = full_per_min
        self.sample_pct = sample_pct
        self._minute: dict[str, tuple[int, int]] = {}  # site -> (minute, visits begun)
        self._accepted: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._chats: OrderedDict[str, dict[str, Any]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.log is not None

    # -- after an evaluation ------------------------------------------------------------
    def decided(
        self,
        site_id: str,
        state: Any,
        rules: RuleSet,
        site: SiteContext,
        now: float,
        events: Iterable[tuple[Change, str | None]],
        refused: Iterable[str] = (),
    ) -> None:
        """Record what `_decide` did (`events`: fired / delayed / held_out / cancelled,
        with the invitation id of a fired one) and every rule's outcome it left."""
        if self.log is None:
            return
        facts = state.facts
        tracker: Tracker = state.decisions.for_visit(facts.visit_started)
        state.decisions = tracker
        if tracker.admitted is False:
            return
        events = list(events)
        on_screen = state.invitation.get("rule_id") if state.invitation else None
        outcomes = rule_outcomes(
            facts,
            rules,
            state.counters,
            site,
            now,
            on_screen_rule=on_screen,
            refused=refused,
            within=rules_to_check(tracker, rules, facts),
        )
        if tracker.admitted is None:
            if not events and not tracker.changes(outcomes):
                return
            tracker.admitted, tracker.sampled = self._admit(site_id, facts.visitor_id, now)
            if not tracker.admitted:
                return
        ts = int(now * 1000)
        for change, invitation_id in events:
            taken = tracker.take(change)
            if taken:
                self._append(site_id, facts.visitor_id, ts, change, invitation_id, tracker.sampled)
            if change.outcome == "fired" and state.invitation is not None:
                if state.invitation.get("id") == invitation_id:
                    state.invitation["recorded"] = taken
                    state.invitation["sampled"] = tracker.sampled
        for change in tracker.changes(outcomes):
            if tracker.take(change):
                self._append(site_id, facts.visitor_id, ts, change, None, tracker.sampled)
        if len(tracker.last) > len(rules.rules):
            tracker.forget_rules(r.id for r in rules.rules)

    def _admit(self, site_id: str, visitor_id: str, now: float) -> tuple[bool, bool]:
        minute = int(now // 60)
        at, begun = self._minute.get(site_id, (minute, 0))
        if at != minute:
            begun = 0
        self._minute[site_id] = (minute, begun + 1)
        return admit(begun, self.full_per_min, self.sample_pct, site_id, visitor_id)

    def _append(
        self,
        site_id: str,
        visitor_id: str,
        ts: int,
        change: Change,
        invitation_id: str | None,
        sampled: bool,
    ) -> None:
        assert self.log is not None
        self.log.append(row_of(site_id, visitor_id, ts, change, invitation_id, sampled))

    # -- the invitation's life ------------------------------------------------------------
    def life(
        self,
        site_id: str,
        visitor_id: str,
        invitation: dict[str, Any] | None,
        invitation_id: str,
        outcome: str,
        now: float | None = None,
    ) -> None:
        """`outcome` (shown, accepted, dismissed, expired, withdrawn) of the invitation
        on screen, when its firing was recorded (`invitation` is the visitor state's)."""
        if self.log is None or invitation is None or not invitation.get("recorded"):
            return
        if invitation.get("id") != invitation_id or not invitation.get("rule_id"):
            return
        now = time.time() if now is None else now
        change = Change(invitation["rule_id"], outcome)
        sampled = bool(invitation.get("sampled"))
        self._append(site_id, visitor_id, int(now * 1000), change, invitation_id, sampled)
        if outcome == "accepted":
            self._accepted[invitation_id] = {
                "site_id": site_id,
                "visitor_id": visitor_id,
                "rule_id": invitation["rule_id"],
                "sampled": sampled,
            }
            _bound(self._accepted)

    def chat_opened(self, invitation_id: str, conversation_id: str) -> None:
        """The accepted invitation opened `conversation_id` (its first visitor words
        will be `chatted`)."""
        base = self._accepted.pop(invitation_id, None)
        if base is not None:
            self._chats[conversation_id] = {**base, "invitation_id": invitation_id}
            _bound(self._chats)

    def visitor_wrote(self, conversation_id: str) -> None:
        """The visitor wrote in a conversation (cheap when it is not one of ours)."""
        if not self._chats:
            return
        base = self._chats.pop(conversation_id, None)
        if base is not None:
            change = Change(base["rule_id"], "chatted")
            self._append(
                base["site_id"],
                base["visitor_id"],
                int(time.time() * 1000),
                change,
                base["invitation_id"],
                base["sampled"],
            )


def _bound(table: OrderedDict[str, Any]) -> None:
    while len(table) > MAX_OPEN_CHATS:
        table.popitem(last=False)


async def record_conversion(
    db: Database,
    log: DecisionLog,
    site_id: str,
    visitor_id: str,
    invitation_id: str,
    ts: int,
) -> None:
    """A conversion was credited to an accepted invitation: `converted`, once per
    invitation, when its acceptance was recorded (in the Store or still buffered)."""
    stored = await timeline(db, site_id, visitor_id)
    rows = [r for r in stored if r["invitation_id"] == invitation_id] + [
        r for r in log.unwritten(invitation_id) if r["visitor_id"] == visitor_id
    ]
    outcomes = {r["outcome"] for r in rows}
    if "accepted" not in outcomes or "converted" in outcomes:
        return
    accepted = next(r for r in rows if r["outcome"] == "accepted")
    change = Change(accepted["rule_id"], "converted")
    log.append(row_of(site_id, visitor_id, ts, change, invitation_id, bool(accepted["sampled"])))


def row_of(
    site_id: str,
    visitor_id: str,
    ts: int,
    change: Change,
    invitation_id: str | None,
    sampled: bool,
) -> dict[str, Any]:
    """The Store's row of one change."""
    return {
        "site_id": site_id,
        "visitor_id": visitor_id,
        "rule_id": change.rule_id,
        "ts": ts,
        "outcome": change.outcome,
        "detail": None if change.detail is None else str(change.detail)[:64],
        "variant_id": change.variant_id,
        "invitation_id": invitation_id,
        "stage": stage(change.outcome, change.detail),
        "sampled": sampled,
    }
