"""Who an invitation speaks as (docs/rules.md, "Actions"): a named agent, or an online
agent of a department picked when it fires; and how it is shown (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from invitations.errors import RuleError

PERSONA_FIELDS = ("agent_id", "department")
DISPLAYS = ("card", "chat")


@dataclass(frozen=True, slots=True)
class Persona:
    """Exactly one of the two is set."""

    agent_id: str | None = None
    department: str | None = None


def parse_persona(data: Any, path: str, errors: list[RuleError]) -> Persona | None:
    """`{"agent_id": ID}` or `{"department": NAME}` (None when absent)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        errors.append(RuleError(path, 'expected {"agent_id": …} or {"department": …}'))
        return None
    for key in data:
        if key not in PERSONA_FIELDS:
            errors.append(RuleError(f"{path}.{key}", "unknown field"))
    given = [k for k in PERSONA_FIELDS if k in data]
    if len(given) != 1:
        errors.append(RuleError(path, "expected exactly one of agent_id and department"))
        return None
    key = given[0]
    value = data[key]
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        errors.append(RuleError(f"{path}.{key}", "expected a string of 1 to 64 characters"))
        return None
    return Persona(**{key: value})


def parse_display(data: Any, path: str, errors: list[RuleError]) -> str:
    """`card` (default): a card above the bubble; `chat`: the widget opens with the
    message already in the chat."""
    if data is None:
        return "card"
    if data not in DISPLAYS:
        errors.append(RuleError(path, 'expected "card" or "chat"'))
        return "card"
    return data


class AgentLike(Protocol):
    agent_id: str
    status: str
    load: int

    def serves(self, department: str | None) -> bool: ...


def least_loaded(agents: Iterable[AgentLike], department: str) -> str | None:
    """The online agent of `department` with the fewest chats now (ties: the lowest id),
    or None when none is online."""
    online = [a for a in agents if a.status == "online" and a.serves(department)]
    if not online:
        return None
    return min(online, key=lambda a: (a.load, a.agent_id)).agent_id
