"""The conversation state machine: statuses and the transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    CLOSED = "closed"


class Action(StrEnum):
    ACCEPT = "accept"
    CLOSE = "close"
    TRANSFER_TO_AGENT = "transfer_to_agent"
    REQUEUE = "requeue"  # transfer to a department, or the agent went away


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.QUEUED, Action.ACCEPT): Status.ACTIVE,
    (Status.QUEUED, Action.CLOSE): Status.CLOSED,
    (Status.QUEUED, Action.TRANSFER_TO_AGENT): Status.ACTIVE,
    (Status.ACTIVE, Action.CLOSE): Status.CLOSED,
    (Status.ACTIVE, Action.TRANSFER_TO_AGENT): Status.ACTIVE,
    (Status.ACTIVE, Action.REQUEUE): Status.QUEUED,
}


class BadTransition(Exception):
    """The action is not allowed from the conversation's current status (a `conflict`)."""

    def __init__(self, status: str, action: Action) -> None:
        super().__init__(f"cannot {action.value.replace('_', ' ')} a {status} conversation")
        self.status = status
        self.action = action


def next_status(current: str, action: Action) -> Status:
    """The status after `action`; raises BadTransition when the table has no such edge."""
    target = TRANSITIONS.get((Status(current), action))
    if target is None:
        raise BadTransition(current, action)
    return target


def sources_of(action: Action) -> tuple[str, ...]:
    """Every status from which `action` is allowed (for compare-and-set updates)."""
    return tuple(status.value for status, act in TRANSITIONS if act is action)
