"""Every operator on literal facts, through both the generated and the closure checks."""

from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invitations.codegen import compile_fast
from invitations.conditions import compile_node
from invitations.errors import RuleError
from invitations.facts import DepartmentLoad, VisitorFacts
from invitations.when_parser import parse_when

NOW = 1000.0
FACTS = VisitorFacts(
    "v1",
    page_url="https://shop.example/Checkout/Pay?x=1",
    page_path="/checkout/pay",
    page_title="Pay now",
    page_started=970.0,
    visit_started=900.0,
    last_activity=990.0,
    visit_page_views=3,
    cart_value=120.5,
    cart_currency="EUR",
    visits=2,
    lang_tag="hr-hr",
    identified=True,
    attrs=MappingProxyType({"plan": "pro", "seats": 5, "trial": True}),
    events=MappingProxyType({"exit_intent": 2}),
)
LOAD = DepartmentLoad(agents_online=2, free_slots=3, pending_invitations=0, queued_chats=1)


def both(cond, facts=FACTS, load=LOAD):
    errors: list[RuleError] = []
    node = parse_when(cond, "when", errors)
    assert errors == []
    slow = compile_node(node)(facts, NOW, load)
    fast = compile_fast(node)(facts, NOW, load)
    assert slow == fast
    return fast is None


CASES = [
    # numbers
    ("cart.value", "eq", 120.5, True),
    ("cart.value", "eq", 120, False),
    ("cart.value", "ne", 120, True),
    ("cart.value", "gt", 120.5, False),
    ("cart.value", "gte", 120.5, True),
    ("cart.value", "lt", 121, True),
    ("cart.value", "lte", 120, False),
    ("cart.value", "in", [1, 120.5], True),
    ("cart.value", "not_in", [1, 120.5], False),
    ("cart.items", "ne", 1, False),  # missing: every comparison is false
    ("cart.items", "not_in", [1], False),
    ("cart.items", "lt", 1, False),
    # time-growing facts against now=1000
    ("page.time_s", "gte", 30, True),
    ("page.time_s", "gt", 30, False),
    ("visit.time_s", "eq", 100, True),
    ("idle_s", "lt", 10, False),
    ("idle_s", "lte", 10, True),
    # strings
    ("page.path", "eq", "/checkout/pay", True),
    ("page.path", "eq", "/Checkout/pay", False),
    ("page.path", "ne", "/", True),
    ("page.path", "in", ["/a", "/checkout/pay"], True),
    ("page.path", "not_in", ["/a"], True),
    ("page.url", "contains", "CHECKOUT/pay", True),
    ("page.url", "not_contains", "cart", True),
    ("page.url", "not_contains", "PAY", False),
    ("page.title", "starts_with", "pay", True),
    ("page.title", "ends_with", "NOW", True),
    ("page.title", "ends_with", "pay", False),
    ("page.path", "glob", "/checkout*", True),
    ("page.path", "glob", "/checkout", False),
    ("page.path", "glob", "/checkout/pay", True),
    ("page.path", "glob", "/*/p?y", True),
    ("page.path", "glob", "/*/p?", False),
    ("page.path", "glob", "/CHECKOUT*", False),
    ("page.url", "regex", r"Pay\?x=\d$", True),
    ("page.url", "regex", r"pay\?x=\d$", False),
    ("page.url", "regex", "^checkout", False),
    ("page.url", "regex", "(?i)checkout/pay", True),
    ("visit.referrer", "contains", "x", False),
    ("visit.referrer", "not_contains", "x", False),
    ("visit.referrer", "ne", "x", False),
    # exists
    ("cart.value", "exists", None, True),
    ("cart.items", "exists", None, False),
    ("cart.items", "not_exists", None, True),
    ("page.path", "not_exists", None, False),
    # bools and derived facts
    ("visitor.identified", "eq", True, True),
    ("visitor.identified", "ne", True, False),
    ("visitor.returning", "eq", True, True),
    ("visitor.lang", "eq", "hr", True),
    ("visitor.visits", "gte", 2, True),
    ("visit.page_views", "eq", 3, True),
    ("event.exit_intent", "gte", 2, True),
    ("event.add_to_cart", "eq", 0, True),
    ("event.add_to_cart", "exists", None, True),
    ("site.agents_online", "gt", 1, True),
    ("site.queue_length", "eq", 1, True),
    # custom attributes: same kind only
    ("visitor.attr.plan", "eq", "pro", True),
    ("visitor.attr.plan", "ne", "free", True),
    ("visitor.attr.seats", "eq", 5, True),
    ("visitor.attr.seats", "eq", "5", False),
    ("visitor.attr.seats", "ne", "5", True),
    ("visitor.attr.trial", "eq", 1, False),
    ("visitor.attr.trial", "eq", True, True),
    ("visitor.attr.seats", "in", [True, 5], True),
    ("visitor.attr.trial", "in", [1], False),
    ("visitor.attr.trial", "not_in", [1], True),
    ("visitor.attr.seats", "gte", 5, True),
    ("visitor.attr.plan", "gte", 5, False),
    ("visitor.attr.trial", "gt", 0, False),
    ("visitor.attr.plan", "contains", "PR", True),
    ("visitor.attr.seats", "not_contains", "x", False),
    ("visitor.attr.plan", "glob", "p*", True),
    ("visitor.attr.plan", "regex", "^pro$", True),
    ("visitor.attr.missing", "eq", "x", False),
    ("visitor.attr.missing", "not_exists", None, True),
]


@pytest.mark.parametrize(("fact", "op", "value", "expected"), CASES)
def test_operator(fact, op, value, expected):
    cond = {"fact": fact, "op": op}
    if value is not None:
        cond["value"] = value
    assert both(cond) is expected


def test_site_facts_missing_without_load():
    assert both({"fact": "site.agents_online", "op": "gte", "value": 0}, load=None) is False
    assert both({"fact": "site.agents_online", "op": "not_exists"}, load=None) is True


def test_events_missing_before_any_visit():
    empty = VisitorFacts("v")
    assert both({"fact": "event.x", "op": "eq", "value": 0}, facts=empty) is False


def test_false_path_is_reported():
    errors: list[RuleError] = []
    node = parse_when(
        {
            "all": [
                {"fact": "cart.value", "op": "gt", "value": 1},
                {
                    "any": [
                        {"fact": "page.path", "op": "eq", "value": "/"},
                        {"fact": "page.path", "op": "eq", "value": "/x"},
                    ]
                },
                {"not": {"fact": "visitor.identified", "op": "eq", "value": True}},
            ]
        },
        "when",
        errors,
    )
    assert compile_fast(node)(FACTS, NOW, None) == "when.all[1]"
    assert compile_node(node)(FACTS, NOW, None) == "when.all[1]"
    node = parse_when(
        {
            "all": [
                {
                    "all": [
                        {"fact": "cart.value", "op": "gt", "value": 1},
                        {"fact": "cart.value", "op": "gt", "value": 500},
                    ]
                }
            ]
        },
        "when",
        errors,
    )
    assert compile_fast(node)(FACTS, NOW, None) == "when.all[0].all[1]"
    node = parse_when({"not": {"fact": "cart.value", "op": "gt", "value": 1}}, "when", errors)
    assert compile_fast(node)(FACTS, NOW, None) == "when"


def test_rule_text_cannot_inject_code():
    # Values are passed to generated code as constants, never pasted in as source.
    sneaky = "x' or __import__('os').system('echo hi') or '"
    assert both({"fact": "page.path", "op": "eq", "value": sneaky}) is False
    assert both({"fact": "page.path", "op": "glob", "value": sneaky + "*"}) is False


leaf_values = st.one_of(st.integers(-5, 200), st.floats(-5, 200), st.text("/abcP*?", max_size=6))
LEAF_FACTS = [
    "cart.value",
    "page.time_s",
    "page.path",
    "page.title",
    "visitor.attr.plan",
    "visitor.attr.seats",
    "cart.items",
    "visit.page_views",
]
OPS = [
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "glob",
    "exists",
    "not_exists",
]


@st.composite
def trees(draw, depth=0):
    if depth >= 3 or draw(st.booleans()):
        cond = {"fact": draw(st.sampled_from(LEAF_FACTS)), "op": draw(st.sampled_from(OPS))}
        if cond["op"] in ("in", "not_in"):
            cond["value"] = draw(st.lists(leaf_values, max_size=3))
        elif cond["op"] not in ("exists", "not_exists"):
            cond["value"] = draw(leaf_values)
        return cond
    kind = draw(st.sampled_from(["all", "any", "not"]))
    if kind == "not":
        return {"not": draw(trees(depth + 1))}
    return {kind: draw(st.lists(trees(depth + 1), min_size=1, max_size=3))}


@settings(max_examples=300, deadline=None)
@given(tree=trees(), now=st.floats(960, 1100))
def test_generated_code_matches_closures(tree, now):
    errors: list[RuleError] = []
    node = parse_when(tree, "when", errors)
    if node is None:
        return  # type mismatches are the validator's business
    assert compile_fast(node)(FACTS, now, LOAD) == compile_node(node)(FACTS, now, LOAD)
