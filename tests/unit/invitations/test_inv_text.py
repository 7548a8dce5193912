"""Text: language chain and {fact|fallback} placeholders, always plain text."""

from types import MappingProxyType

import pytest

from invitations.errors import RuleError
from invitations.facts import DepartmentLoad, VisitorFacts
from invitations.text import choose_language, parse_template

FACTS = VisitorFacts(
    "v",
    name="<b>Ana</b>",
    cart_value=149.9,
    cart_items=2,
    page_started=100.0,
    identified=True,
    attrs=MappingProxyType({"plan": "pro", "seats": 3.0}),
    visits=2,
    cart_currency="",
)


def render(text, facts=FACTS, now=130.75):
    errors: list[RuleError] = []
    template = parse_template(text, "t", errors)
    assert errors == []
    return template.render(facts, now, DepartmentLoad(agents_online=3))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {visitor.name|there}!", "Hi <b>Ana</b>!"),
        ("Hi {visitor.email|there}!", "Hi there!"),
        ("Hi {visitor.email}!", "Hi !"),
        ("{cart.value|0} EUR", "149.9 EUR"),
        ("{cart.items} items", "2 items"),
        ("{visitor.attr.seats} seats", "3 seats"),
        ("{visitor.attr.plan|free} plan", "pro plan"),
        ("{visitor.attr.team|no} team", "no team"),
        ("{page.time_s}s here", "30s here"),
        ("{visitor.identified}/{visitor.returning}", "true/true"),
        ("{cart.currency|EUR}", "EUR"),
        ("{site.agents_online} online", "3 online"),
        ("{event.none|0} times", "0 times"),
        ("Literal { braces } and {not a fact}", "Literal { braces } and {not a fact}"),
        ("{visitor.name|<i>x</i>}", "<b>Ana</b>"),
    ],
)
def test_placeholders(text, expected):
    assert render(text) == expected


def test_event_counts_before_a_visit_use_the_fallback():
    assert render("{event.none|zero}", VisitorFacts("v")) == "zero"


def test_unknown_placeholder_facts_are_errors():
    errors: list[RuleError] = []
    assert parse_template("Hi {visitor.nme|x} {cart.val}", "p", errors) is None
    assert errors == [
        RuleError("p", 'unknown fact "visitor.nme" in placeholder {visitor.nme|x}'),
        RuleError("p", 'unknown fact "cart.val" in placeholder {cart.val}'),
    ]


@pytest.mark.parametrize(
    ("visitor", "default", "index"),
    [
        ("pt-br", "en", 1),  # exact tag
        ("pt-pt", "en", 0),  # primary subtag
        ("PT-BR", "en", 1),
        ("fr", "en", 2),  # site default
        ("fr", "de", 0),  # first entry
        (None, None, 0),
        (None, "en", 2),
    ],
)
def test_language_chain(visitor, default, index):
    assert choose_language(("pt", "pt-br", "en"), visitor, default) == index
