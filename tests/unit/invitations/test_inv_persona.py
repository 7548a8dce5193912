"""Personas and the display of an invitation (pure): the rule schema, and the least
loaded online agent of a department."""

from dataclasses import dataclass

from inv_helpers import rule

from invitations.persona import Persona, least_loaded
from invitations.rules import validate_rule

BASE = {
    "id": "r",
    "when": {"fact": "visit.page_views", "op": "gte", "value": 1},
    "variants": [{"id": "a", "text": {"en": "Hi"}}],
}


def problems(**extra):
    return [(e.path, e.message) for e in validate_rule({**BASE, **extra})]


def test_a_named_agent_or_a_department_and_a_display():
    assert rule("r", persona={"agent_id": "us_1"}).persona == Persona(agent_id="us_1")
    assert rule("r", persona={"department": "sales"}).persona == Persona(department="sales")
    assert rule("r").persona is None and rule("r").display == "card"
    assert rule("r", display="chat").display == "chat"


def test_bad_personas_and_displays_are_refused_with_their_path():
    assert problems(persona="Ana") == [("persona", 'expected {"agent_id": …} or {"department": …}')]
    assert problems(persona={}) == [("persona", "expected exactly one of agent_id and department")]
    assert problems(persona={"agent_id": "us_1", "department": "sales"}) == [
        ("persona", "expected exactly one of agent_id and department")
    ]
    assert problems(persona={"agent_id": ""}) == [
        ("persona.agent_id", "expected a string of 1 to 64 characters")
    ]
    assert problems(persona={"agent": "us_1"}) == [
        ("persona.agent", "unknown field"),
        ("persona", "expected exactly one of agent_id and department"),
    ]
    assert problems(display="popup") == [("display", 'expected "card" or "chat"')]


@dataclass
class Agent:
    agent_id: str
    status: str
    load: int
    departments: tuple[str, ...] = ()

    def serves(self, department):
        return not department or not self.departments or department in self.departments


def test_least_loaded_online_agent_of_the_department():
    agents = [
        Agent("a", "online", 2, ("sales",)),
        Agent("b", "online", 1, ("support",)),
        Agent("c", "away", 0, ("sales",)),
        Agent("d", "online", 1, ()),  # serves every department
        Agent("e", "online", 1, ("sales",)),
    ]
    assert least_loaded(agents, "sales") == "d"  # d and e tie at 1: the lower id
    assert least_loaded(agents[:3], "sales") == "a"  # c is away
    assert least_loaded([agents[1], agents[2]], "sales") is None
