"""Where the invitation engine meets sockets, the Broker and the clock (the only place).

Per visitor: behaviour event → facts → `evaluate` (only the rules reading the changed
facts) → act (invite, hold out, delay) → next wake in the node's timer heap. The
visitor's state lives in the Broker, so any node can take over its socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from invitations import (
    SITE_FACTS,
    CancelPending,
    HoldOut,
    Invite,
    VisitorFacts,
    apply_event_changes,
    evaluate,
)
from invitations.decisions import Change
from invitations.pacing import MAX_ROUNDS, blocked_by_load, retry_wake
from invitations.signals import SignalCapped
from server.broker.base import Broker
from server.chat import invitation_log, pacing, page_trail, personas, visitor_state
from server.chat.decision_recorder import DecisionRecorder
from server.chat.rule_cache import RuleCache
from server.chat.site_load import SiteLoads
from server.chat.visitor_state import VisitorState
from server.chat.watch_feed import WatchFeed
from server.chat.watch_feed import visitor_summary as visitor_summary  # agent_ws, api
from server.chat.watch_feed import watch_channel as watch_channel  # agent_ws
from server.errors import ApiError
from server.hub.hub import conv_channel
from server.keyed_locks import KeyedLocks
from server.scheduler import Scheduler
from server.store import conversations as conv_queries
from server.store.database import Database
from server.store.visits import VisitLog

log = logging.getLogger("beckon.proactive")
ONLINE_TTL_S = 90.0
REFRESH_CHUNK = 500
"""Visitors of one site refreshed by one broker command (bounds how long it runs)."""
# Behaviour comes in bursts (a page view, then the cart, a scroll...): the state saved
# after one is kept parsed for the next (`ParsedStates`). Not after a hello: an idle
# socket would hold it for nothing.
BURSTY = frozenset({"page_view", "track", "cart", "attributes"})
WATCHED_EVENTS = frozenset(
    {"hello", "page_view", "cart", "attributes", "chat_started", "chat_closed"}
)


def online_group(site_id: str) -> str:
    """Visitors with a socket open on the site, on any node."""
    return f"online-visitors:{site_id}"


# (kind, payload) to the visitor's sockets on whichever node holds them.
Publish = Callable[[str, str, dict[str, Any]], Any]


class Proactive:
    def __init__(
        self,
        db: Database,
        broker: Broker,
        rules: RuleCache,
        loads: SiteLoads,
        publish: Publish,
        emit: Callable[[str, dict[str, Any]], None],
        publish_channel: Publish,
        visit_log: VisitLog | None = None,
        decisions: DecisionRecorder | None = None,
    ) -> None:
        """`publish(visitor_id, kind, payload)` reaches a visitor's sockets on any node;
        `publish_channel(channel, kind, payload)` any channel (the watch list).
        `visit_log` receives what the engine saw that the socket code does not log
        (a chat's end, whether a chat was open at hello, a socket leaving), so a
        backtest replays the same decisions. `decisions` records each change in a
        visitor's outcome for a rule (decisions over time)."""
        self.db = db
        self.decisions = decisions or DecisionRecorder(None, 0, 0)
        self.visit_log = visit_log
        self.broker = broker
        self.rules = rules
        self.loads = loads
        self._publish = publish
        self.watch = WatchFeed(publish_channel)
        self._publish_channel = publish_channel
        self._visitor_locks = KeyedLocks()
        self._emit = emit
        self.scheduler = Scheduler(self._wake)
        self.states = visitor_state.ParsedStates(broker)
        self.invitations = invitation_log.InvitationWriter(db)
        self.local: dict[str, dict[str, Any]] = {}  # visitor id -> site (sockets here)
        self._refresher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.scheduler.start()
        self._refresher = asyncio.create_task(self._refresh_online())

    async def close(self) -> None:
        await self.scheduler.close()
        await self.watch.close()
        await self.invitations.close()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher

    # -- sockets on this node ------------------------------------------------------------
    async def attach(self, visitor_id: str, site: dict[str, Any]) -> None:
        self.local[visitor_id] = site
        await self.broker.presence_set(online_group(site["id"]), visitor_id, b"1", ONLINE_TTL_S)

    async def detach(self, visitor_id: str, *, log: bool = True) -> None:
        """The visitor's socket on this node ended. `log=False` for an erased visitor:
        nothing more of them may reach the visit log."""
        site = self.local.pop(visitor_id, None)
        self.states.forget(visitor_id)
        self.scheduler.schedule(visitor_id, None)
        if site is not None:
            if log:
                self._log(site["id"], visitor_id, time.time(), "visitor_left", {})
            with contextlib.suppress(Exception):
                await self.broker.presence_remove(online_group(site["id"]), visitor_id)
                await self.watch.left(site["id"], visitor_id)

    async def _refresh_online(self) -> None:
        # One loop per node (not a task per visitor) keeps its visitors "online", with
        # one broker command per site and chunk, not one per visitor: the per-visitor
        # commands were a visible share of an idle node's CPU.
        while True:
            await asyncio.sleep(ONLINE_TTL_S / 3)
            by_site: dict[str, list[str]] = {}
            for visitor_id, site in self.local.items():
                by_site.setdefault(site["id"], []).append(visitor_id)
            await asyncio.gather(
                *(
                    self.broker.presence_set_many(
                        online_group(site_id),
                        dict.fromkeys(visitor_ids[start : start + REFRESH_CHUNK], b"1"),
                        ONLINE_TTL_S,
                    )
                    for site_id, visitor_ids in by_site.items()
                    for start in range(0, len(visitor_ids), REFRESH_CHUNK)
                ),
                return_exceptions=True,
            )

    # -- the loop ------------------------------------------------------------------------
    async def event(
        self,
        site: dict[str, Any],
        visitor_id: str,
        event: dict[str, Any],
        now: float | None = None,
        *,
        check: Callable[[VisitorFacts, dict[str, Any]], None] | None = None,
        decide: bool = True,
        **counter_changes: Any,
    ) -> VisitorState:
        """Apply one behaviour event and act on what the rules decide (`decide=False`:
        only record it — the visitor has no socket open, nobody to invite).

        `check(facts, event)` runs on the visitor's current facts before anything is
        applied; what it raises (a bound the event would pass) propagates, and
        nothing of the event is kept. One event per visitor at a time on this node:
        its tabs' events must not overwrite each other's facts (nor slip past a bound
        together)."""
        now = time.time() if now is None else now
        async with self._visitor_locks.hold(visitor_id):
            return await self._event(site, visitor_id, event, now, check, decide, counter_changes)

    async def _event(
        self,
        site: dict[str, Any],
        visitor_id: str,
        event: dict[str, Any],
        now: float,
        check: Callable[[VisitorFacts, dict[str, Any]], None] | None,
        decide: bool,
        counter_changes: dict[str, Any],
    ) -> VisitorState:
        state = await self.states.load(visitor_id)
        if check is not None:
            check(state.facts, event)
        before = state.facts
        try:
            state.facts, changed = apply_event_changes(state.facts, event, now)
        except SignalCapped as exc:  # a flood of struggle signals: the sender hears of it
            raise ApiError(exc.code, str(exc)) from None
        except ValueError as exc:
            log.warning("event not applied for %s: %s", visitor_id, exc)
            return state
        trail = page_trail.advance(state.trail, before, state.facts)
        if trail is not None:
            state.trail = trail
        if "conversation_open" in counter_changes:
            is_open = bool(counter_changes["conversation_open"])
            state.counters = state.counters.with_conversation(is_open)
            changed = None
            # Logged beside the event (the socket code logs hello and chat_started, not
            # a chat's end nor what the Store said at hello): replay needs both.
            if event["type"] == "hello":
                self._log(site["id"], visitor_id, now, "conversation_state", {"open": is_open})
        if event["type"] == "chat_closed":
            self._log(site["id"], visitor_id, now, "chat_closed", {})
        if decide:
            await self._decide(site, state, now, changed, keep=event["type"] in BURSTY)
        else:
            await self._save(state)
        if event["type"] in WATCHED_EVENTS:
            await self.watch.visitor(site["id"], visitor_id, visitor_summary(state, now))
        if trail is not None and state.counters.open_conversation:
            await self._announce_trail(visitor_id, state.trail)
        return state

    async def _save(self, state: VisitorState, keep: bool = False) -> None:
        await self.states.save(state, keep=keep and state.facts.visitor_id in self.local)

    async def _announce_trail(self, visitor_id: str, trail: list[dict[str, Any]]) -> None:
        """The agents of the visitor's open chat see the new page live (page trail)."""
        try:
            async with self.db.read() as conn:
                conv = await conv_queries.open_conversation_of(conn, visitor_id)
        except Exception as exc:  # the trail is kept; the console sees it on its next read
            log.warning("page trail of %s not announced: %s", visitor_id, exc)
            return
        if conv is not None:
            frame = page_trail.frame(conv["id"], visitor_id, trail)
            await self._publish_channel(conv_channel(conv["id"]), "visitor_page", frame)

    def _log(self, site_id: str, visitor_id: str, now: float, kind: str, data: dict) -> None:
        if self.visit_log is not None:
            self.visit_log.append(site_id, visitor_id, int(now * 1000), kind, data)

    async def _wake(self, visitor_id: str, due: float) -> None:
        site = self.local.get(visitor_id)
        if site is None:
            return
        state = await self.states.load(visitor_id)
        # SITE_FACTS: besides the rules time can change, those that read agents' load
        # (a wake is also how a visitor held back by pacing gets another look).
        await self._decide(site, state, max(due, time.time()), SITE_FACTS, prev_wake=due)

    async def reevaluate(self, visitor_id: str) -> None:
        """Counters or site changed (e.g. an invitation was answered): check everything."""
        site = self.local.get(visitor_id)
        if site is None:
            return
        state = await self.states.load(visitor_id)
        await self._decide(site, state, time.time(), None)

    async def _decide(
        self,
        site: dict[str, Any],
        state: VisitorState,
        now: float,
        changed: frozenset[str] | None,
        prev_wake: float | None = None,
        *,
        keep: bool = False,
    ) -> None:
        invited = state.invitation
        rule_set, compiled, versions = await self.rules.get(site["id"])
        context = await self.loads.context(site)
        wake = prev_wake if prev_wake is not None else state.wake
        done: list[tuple[Change, str | None]] = []  # what was acted on, for the timeline
        refused: list[str] = []
        for _round in range(MAX_ROUNDS):
            decision = evaluate(state.facts, rule_set, state.counters, context, now, changed, wake)
            wake = decision.next_wake
            if blocked_by_load(decision):
                # Agents' load is not an event: look again shortly, as it changes.
                wake = retry_wake(wake, now)
            if not decision.actions:
                break
            retry = False
            for action in decision.actions:
                if await self._act(site, state, action, compiled, versions, now):
                    done.append(_acted(action, state))
                else:
                    refused.append(action.rule_id)
                    retry = True
            if retry:
                wake = retry_wake(wake, now)
                break
            changed = None  # an action changed the counters: look at everything again
        state.wake = wake
        if self.decisions.enabled:
            self.decisions.decided(site["id"], state, rule_set, context, now, done, refused)
        await self._save(state, keep)
        if state.facts.visitor_id in self.local:
            self.scheduler.schedule(state.facts.visitor_id, wake)
        if state.invitation != invited:
            await self.watch.invitation_changed(site["id"], state)

    async def _act(
        self,
        site: dict[str, Any],
        state: VisitorState,
        action: Any,
        compiled: dict[str, Any],
        versions: dict[str, int],
        now: float,
    ) -> bool:
        """Carry out one action; False when pacing refused it (retry shortly)."""
        visit = state.facts.visit_started
        if isinstance(action, CancelPending):
            state.counters = state.counters.clear_pending()
            return True
        rule = compiled[action.rule_id]
        if isinstance(action, HoldOut):
            await self.invitations.record(
                site_id=site["id"],
                visitor_id=state.facts.visitor_id,
                rule_id=rule.id,
                rule_version=versions.get(rule.id),
                variant_id=action.variant_id,
                status="held_out",
            )
            state.counters = state.counters.record_holdout(rule.id, now, visit)
            return True
        assert isinstance(action, Invite)
        if action.delay_s > 0:
            state.counters = state.counters.with_pending(
                rule.id, action.variant_id, now + action.delay_s
            )
            return True
        department = rule.gates.department
        paced = bool(rule.gates.require_agent_online)
        if paced:
            load = (await self.loads.context(site)).load_for(department)
            limit = (load.free_slots - load.queued_chats) if load else 0
            if not await pacing.take(self.broker, site["id"], department, limit):
                return False
            self.loads.invalidate(site["id"])
        # Who it speaks as is picked now (the least loaded agent of a department).
        persona = await personas.resolve(self.db, self.broker, site["id"], rule.persona)
        row = await self.invitations.record(
            site_id=site["id"],
            visitor_id=state.facts.visitor_id,
            rule_id=rule.id,
            rule_version=versions.get(rule.id),
            variant_id=action.variant_id,
            status="triggered",
            text=action.text,
            agent_id=persona["id"] if persona else None,
        )
        state.counters = state.counters.record_invite(rule.id, now, visit)
        state.invitation = {
            "id": row["id"],
            "rule_id": rule.id,
            "department": department,
            "paced": paced,
        }
        frame: dict[str, Any] = {
            "type": "invitation",
            "invitation_id": row["id"],
            "rule_id": rule.id,
            "variant": action.variant_id,
            "text": action.text,
            "lang": action.lang,
        }
        if persona is not None:
            frame["agent"] = {"name": persona["name"], "avatar_url": persona["avatar_url"]}
        if rule.display != "card":
            frame["display"] = rule.display
        await self._publish(state.facts.visitor_id, "invitation", frame)
        return True

    # -- answers and endings ---------------------------------------------------------
    async def close_invitation(
        self,
        site_id: str,
        visitor_id: str,
        invitation_id: str,
        status: str,
        *,
        notify: str | None = None,
    ) -> bool:
        """accepted / dismissed / expired / withdrawn: one move, the pacing slot back."""
        row = await invitation_log.get(self.db, invitation_id)
        if row is None or row["visitor_id"] != visitor_id or row["site_id"] != site_id:
            return False
        now_ms = int(time.time() * 1000)
        if not await invitation_log.move(
            self.db, invitation_id, invitation_log.OPEN, status, answered_ts=now_ms
        ):
            return False
        state = await self.states.load(visitor_id)
        paced = bool(state.invitation and state.invitation.get("paced"))
        department = state.invitation.get("department") if state.invitation else None
        self.decisions.life(site_id, visitor_id, state.invitation, invitation_id, status)
        if state.invitation and state.invitation.get("id") == invitation_id:
            state.invitation = None
        if status == "withdrawn":  # not the visitor's doing: the replay must be told
            self._log(site_id, visitor_id, time.time(), "invitation_withdrawn", {})
        if status == "dismissed":
            state.counters = state.counters.record_dismiss(time.time())
        else:
            state.counters = state.counters.record_closed_invitation()
        if status == "accepted":
            # The conversation opens next; no other invitation may slip in meanwhile
            # (and a backtest, which sees one "accept", decides the same).
            state.counters = state.counters.with_conversation(True)
        await self._save(state)
        await self.watch.invitation_changed(site_id, state)
        if paced:
            await pacing.give_back(self.broker, site_id, department)
            self.loads.invalidate(site_id)
        if notify:
            await self._publish(
                visitor_id,
                "invitation_withdrawn",
                {"type": "invitation_withdrawn", "invitation_id": invitation_id, "reason": notify},
            )
        if visitor_id in self.local:
            await self.reevaluate(visitor_id)
        return True

    async def mark_shown(self, visitor_id: str, invitation_id: str) -> bool:
        row = await invitation_log.get(self.db, invitation_id)
        if row is None or row["visitor_id"] != visitor_id:
            return False
        moved = await invitation_log.move(
            self.db, invitation_id, ("triggered",), "shown", shown_ts=int(time.time() * 1000)
        )
        if moved and self.decisions.enabled:
            state = await self.states.load(visitor_id)
            invitation = state.invitation
            self.decisions.life(row["site_id"], visitor_id, invitation, invitation_id, "shown")
        if moved:
            self._emit(
                "invitation.shown",
                {
                    "invitation_id": invitation_id,
                    "site_id": row["site_id"],
                    "rule_id": row["rule_id"],
                    "variant_id": row["variant_id"],
                },
            )
        return moved

    async def expire_due(self) -> int:
        """Open invitations past 120 s become expired (run by one node per tick)."""
        now_ms = int(time.time() * 1000)
        cutoff = now_ms - invitation_log.EXPIRY_MS
        rows = await invitation_log.open_before(self.db, cutoff)
        done = 0
        for row in rows:
            done += await self.close_invitation(
                row["site_id"], row["visitor_id"], row["id"], "expired", notify="expired"
            )
        return done

    async def manual_invite(
        self, site: dict[str, Any], visitor_id: str, text: str, agent: dict[str, Any]
    ) -> dict[str, Any]:
        """An agent invites a visitor by hand (not paced: the agent chose to); not one who
        is in a chat or has an invitation on screen (the console disables the button, but
        two agents may click at once)."""
        state = await self.states.load(visitor_id)
        if state.counters.open_conversation:
            raise ApiError("conflict", "the visitor is already in a chat")
        if state.invitation:
            raise ApiError("conflict", "the visitor already has an invitation pending")
        row = await self.invitations.record(
            site_id=site["id"],
            visitor_id=visitor_id,
            status="triggered",
            text=text,
            agent_id=agent["id"],
        )
        state.counters = state.counters.record_invite(
            "manual", time.time(), state.facts.visit_started
        )
        state.invitation = {"id": row["id"], "rule_id": None, "department": None, "paced": False}
        await self._save(state)
        await self.watch.invitation_changed(site["id"], state)
        # It counts in the visitor's budget and is on screen: the replay must know.
        self._log(site["id"], visitor_id, time.time(), "invitation_manual", {})
        await self._publish(
            visitor_id,
            "invitation",
            {
                "type": "invitation",
                "invitation_id": row["id"],
                "rule_id": None,
                "variant": None,
                "text": text,
                "agent": {"name": agent["display_name"], "avatar_url": agent.get("avatar_url")},
            },
        )
        return row


def _acted(action: Any, state: VisitorState) -> tuple[Change, str | None]:
    """The timeline's record of an action carried out (with a sent invitation's id)."""
    if isinstance(action, CancelPending):
        return Change(action.rule_id, "cancelled", action.reason, action.variant_id), None
    if isinstance(action, HoldOut):
        return Change(action.rule_id, "held_out", None, action.variant_id), None
    if action.delay_s > 0:
        return Change(action.rule_id, "delayed", None, action.variant_id), None
    sent = state.invitation["id"] if state.invitation else None
    return Change(action.rule_id, "fired", None, action.variant_id), sent
