"""Rule validation: every error class with its exact JSON path and message."""

import copy
import json

import pytest

from invitations.catalogue import catalogue
from invitations.rules import RuleError, RuleValidationError, compile_rule, validate_rule

SPEC_EXAMPLE = {
    "id": "rl_8f2k",
    "name": "Hesitating with a big cart",
    "enabled": True,
    "priority": 10,
    "when": {
        "all": [
            {"fact": "page.path", "op": "glob", "value": "/checkout*"},
            {"fact": "cart.value", "op": "gte", "value": 100},
            {"fact": "page.time_s", "op": "gte", "value": 30},
            {"not": {"fact": "visitor.chats", "op": "gt", "value": 0}},
        ]
    },
    "gates": {
        "require_agent_online": True,
        "department": "sales",
        "schedule": {
            "timezone": "Europe/Zagreb",
            "windows": [
                {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "18:00"}
            ],
        },
        "max_per_visit": 1,
        "min_days_between": 7,
        "cooldown_after_dismiss_s": 86400,
    },
    "holdout_pct": 10,
    "variants": [
        {
            "id": "a",
            "weight": 50,
            "delay_s": 0,
            "text": {"en": "Need a hand with your order?", "hr": "Trebate li pomoć s narudžbom?"},
        },
        {"id": "b", "weight": 50, "text": {"en": "Any questions, {visitor.name|there}?"}},
    ],
}


def errors_of(data):
    return [(e.path, e.message) for e in validate_rule(data)]


def with_when(when):
    return {"id": "r", "when": when, "variants": [{"id": "a", "text": {"en": "Hi"}}]}


def test_spec_example_compiles():
    rule = compile_rule(copy.deepcopy(SPEC_EXAMPLE))
    assert rule.id == "rl_8f2k"
    assert rule.priority == 10
    assert rule.reads == frozenset({"page.path", "cart.value", "page.time_s", "visitor.chats"})
    assert rule.gates.department == "sales"
    assert rule.gates.schedule.timezone == "Europe/Zagreb"
    assert [v.id for v in rule.variants] == ["a", "b"]
    assert rule.variants[0].languages == ("en", "hr")
    assert validate_rule(SPEC_EXAMPLE) == []


def test_compile_raises_with_every_error():
    with pytest.raises(RuleValidationError) as info:
        compile_rule({"id": "", "when": {}, "variants": []})
    assert [str(e) for e in info.value.errors] == [
        "id: expected a string of 1 to 64 characters",
        'when: expected a condition: {"fact", "op", "value"}, {"time": {...}}, '
        '{"all": [...]}, {"any": [...]} or {"not": {...}}',
        "variants: at least one variant is required",
    ]


def test_not_an_object():
    assert errors_of([]) == [("", "expected a rule object")]


def test_required_fields():
    assert errors_of({}) == [
        ("id", "expected a string of 1 to 64 characters"),
        ("when", "is required"),
        ("variants", "is required"),
    ]


def test_unknown_fields_everywhere():
    data = copy.deepcopy(SPEC_EXAMPLE)
    data["colour"] = "red"
    data["gates"]["speed"] = 1
    data["gates"]["schedule"]["tz"] = "x"
    data["gates"]["schedule"]["windows"][0]["hours"] = 3
    data["when"]["all"][1]["unit"] = "EUR"
    data["variants"][0]["style"] = "x"
    assert errors_of(data) == [
        ("colour", "unknown field"),
        ("when.all[1].unit", "unknown field"),
        ("gates.speed", "unknown field"),
        ("gates.schedule.tz", "unknown field"),
        ("gates.schedule.windows[0].hours", "unknown field"),
        ("variants[0].style", "unknown field"),
    ]


def test_type_mismatch_in_value_reports_the_issue_example():
    when = {
        "all": [
            {"fact": "page.path", "op": "eq", "value": "/"},
            {"fact": "page.title", "op": "eq", "value": "x"},
            {"fact": "cart.value", "op": "gte", "value": "100"},
        ]
    }
    assert errors_of(with_when(when)) == [("when.all[2].value", "expected a number for cart.value")]


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"fact": "page.foo", "op": "eq", "value": 1}, [("when.fact", 'unknown fact "page.foo"')]),
        ({"fact": 3, "op": "eq", "value": 1}, [("when.fact", "expected a fact name")]),
        (
            {"fact": "page.path", "op": "between", "value": 1},
            [("when.op", 'unknown operator "between"')],
        ),
        ({"fact": "page.path", "value": "x"}, [("when.op", "is required")]),
        ({"fact": "page.path", "op": 5, "value": "x"}, [("when.op", "expected an operator name")]),
        (
            {"fact": "page.path", "op": "gte", "value": 1},
            [("when.op", 'operator "gte" does not apply to page.path, which is a string')],
        ),
        (
            {"fact": "cart.value", "op": "contains", "value": "1"},
            [("when.op", 'operator "contains" does not apply to cart.value, which is a number')],
        ),
        (
            {"fact": "visitor.returning", "op": "gt", "value": 1},
            [
                (
                    "when.op",
                    'operator "gt" does not apply to visitor.returning, which is true or false',
                )
            ],
        ),
        ({"fact": "page.path", "op": "eq"}, [("when.value", "is required")]),
        (
            {"fact": "page.path", "op": "exists", "value": 1},
            [("when.value", "exists takes no value")],
        ),
        (
            {"fact": "page.path", "op": "eq", "value": 1},
            [("when.value", "expected a string for page.path")],
        ),
        (
            {"fact": "cart.value", "op": "eq", "value": True},
            [("when.value", "expected a number for cart.value")],
        ),
        (
            {"fact": "cart.value", "op": "gt", "value": float("nan")},
            [("when.value", "expected a number for cart.value")],
        ),
        (
            {"fact": "visitor.identified", "op": "eq", "value": 1},
            [("when.value", "expected true or false for visitor.identified")],
        ),
        (
            {"fact": "cart.value", "op": "in", "value": 5},
            [("when.value", "expected a list for cart.value")],
        ),
        (
            {"fact": "cart.value", "op": "in", "value": [1, "2", 3, None]},
            [
                ("when.value[1]", "expected a number for cart.value"),
                ("when.value[3]", "expected a number for cart.value"),
            ],
        ),
        (
            {"fact": "visitor.attr.plan", "op": "gt", "value": "a"},
            [("when.value", "expected a number for visitor.attr.plan")],
        ),
        (
            {"fact": "visitor.attr.plan", "op": "contains", "value": 1},
            [("when.value", "expected a string for visitor.attr.plan")],
        ),
        (
            {"fact": "visitor.attr.plan", "op": "eq", "value": [1]},
            [("when.value", "expected a string, number or boolean for visitor.attr.plan")],
        ),
        (
            {"fact": "visitor.attr.", "op": "eq", "value": 1},
            [("when.fact", 'unknown fact "visitor.attr."')],
        ),
        (
            {"fact": "page.url", "op": "regex", "value": "(a"},
            [("when.value", "regex does not compile: missing ): (a")],
        ),
        (
            {"fact": "page.url", "op": "regex", "value": "(a)\\1"},
            [("when.value", "regex does not compile: invalid escape sequence: \\1")],
        ),
        (
            {"fact": "page.url", "op": "regex", "value": "a" * 257},
            [("when.value", "regex is longer than 256 characters")],
        ),
    ],
)
def test_leaf_errors(cond, expected):
    assert errors_of(with_when(cond)) == expected


def test_regex_of_exactly_256_chars_is_fine():
    assert errors_of(with_when({"fact": "page.url", "op": "regex", "value": "a" * 256})) == []


def test_combinator_shapes():
    assert errors_of(with_when({"all": []})) == [("when.all", "expected at least one condition")]
    assert errors_of(with_when({"any": {"fact": "page.url"}})) == [
        ("when.any", "expected a list of conditions")
    ]
    assert errors_of(with_when({"not": {"fact": "x", "op": "eq", "value": 1}, "all": []})) == [
        ("when.not", "unknown field"),
        ("when.all", "expected at least one condition"),
    ]
    assert errors_of(with_when({"op": "eq"}))[0][0] == "when"
    assert errors_of(with_when({"all": ["x"]}))[0][0] == "when.all[0]"


def nested(depth):
    node = {"fact": "cart.value", "op": "gt", "value": 1}
    for _ in range(depth - 1):
        node = {"not": node}
    return node


def test_nesting_limit():
    assert errors_of(with_when(nested(8))) == []
    path = "when" + ".not" * 8
    assert errors_of(with_when(nested(9))) == [
        (path, "conditions are nested more than 8 levels deep")
    ]


def test_condition_count_limit():
    leaf = {"fact": "cart.value", "op": "gt", "value": 1}
    assert errors_of(with_when({"all": [leaf] * 64})) == []
    assert errors_of(with_when({"all": [leaf] * 65})) == [
        ("when", "a rule may have at most 64 conditions, this one has 65")
    ]


def test_top_level_field_errors():
    data = copy.deepcopy(SPEC_EXAMPLE)
    data.update(name=3, enabled="yes", priority=1.5, created_ts="x", holdout_pct=51)
    assert errors_of(data) == [
        ("name", "expected a string"),
        ("enabled", "expected true or false"),
        ("priority", "expected a whole number"),
        ("created_ts", "expected a number of seconds since the epoch"),
        ("holdout_pct", "expected a number from 0 to 50"),
    ]
    data = copy.deepcopy(SPEC_EXAMPLE)
    data["holdout_pct"] = -1
    assert errors_of(data) == [("holdout_pct", "expected a number from 0 to 50")]
    data["holdout_pct"] = 50
    assert errors_of(data) == []


def test_gate_errors():
    data = copy.deepcopy(SPEC_EXAMPLE)
    data["gates"].update(
        require_agent_online="y",
        department="",
        max_per_visit=0,
        min_days_between=-1,
        cooldown_after_dismiss_s="1h",
    )
    assert errors_of(data) == [
        ("gates.require_agent_online", "expected true or false"),
        ("gates.department", "expected a department name"),
        ("gates.max_per_visit", "expected a whole number ≥ 1"),
        ("gates.min_days_between", "expected a number of days ≥ 0"),
        ("gates.cooldown_after_dismiss_s", "expected a number of seconds ≥ 0"),
    ]
    assert errors_of({**SPEC_EXAMPLE, "gates": []}) == [("gates", "expected an object")]


def test_schedule_errors():
    data = copy.deepcopy(SPEC_EXAMPLE)
    data["gates"]["schedule"] = {
        "timezone": "Europe/Zgb",
        "windows": [
            {"days": ["mon", "fun"], "from": "8:00", "to": "24:01"},
            {"days": [], "from": "10:00", "to": "10:00"},
            "x",
        ],
    }
    assert errors_of(data) == [
        ("gates.schedule.timezone", 'unknown time zone "Europe/Zgb"'),
        ("gates.schedule.windows[0].days[1]", "expected one of mon, tue, wed, thu, fri, sat, sun"),
        ("gates.schedule.windows[0].from", "expected a time as HH:MM, from 00:00 to 23:59"),
        ("gates.schedule.windows[0].to", "expected a time as HH:MM, from 00:00 to 23:59"),
        (
            "gates.schedule.windows[1].days",
            "expected a list of days (mon, tue, wed, thu, fri, sat, sun)",
        ),
        ("gates.schedule.windows[1].to", '"to" must differ from "from"'),
        ("gates.schedule.windows[2]", 'expected an object with "days", "from" and "to"'),
    ]
    data["gates"]["schedule"] = {"timezone": 1, "windows": []}
    assert errors_of(data) == [
        ("gates.schedule.timezone", "expected a time zone such as Europe/Zagreb"),
        ("gates.schedule.windows", "expected a list of at least one window"),
    ]
    data["gates"]["schedule"] = {
        "timezone": "../etc/passwd",
        "windows": [{"days": ["sat"], "from": "00:00", "to": "24:00"}],
    }
    assert errors_of(data) == [("gates.schedule.timezone", 'unknown time zone "../etc/passwd"')]


def test_variant_errors():
    data = copy.deepcopy(SPEC_EXAMPLE)
    data["variants"] = [
        {"id": "a", "weight": -1, "delay_s": 4000, "text": {}},
        {"id": "a", "text": {"en": "Hi {visitor.nme|there}", "x y": "ok", "hr": ""}},
        "nope",
    ]
    assert errors_of(data) == [
        ("variants[0].weight", "expected a number ≥ 0"),
        ("variants[0].delay_s", "expected a number of seconds from 0 to 3600"),
        ("variants[0].text", "at least one language is required"),
        ("variants[1].text.en", 'unknown fact "visitor.nme" in placeholder {visitor.nme|there}'),
        ("variants[1].text.x y", "expected a language tag such as en or pt-BR"),
        ("variants[1].text.hr", "expected a non-empty text"),
        ("variants[2]", "expected a variant object"),
    ]


def test_duplicate_variant_ids_and_zero_weights():
    data = copy.deepcopy(SPEC_EXAMPLE)
    data["variants"][1]["id"] = "a"
    assert errors_of(data) == [("variants[1].id", 'duplicate variant id "a"')]
    data = copy.deepcopy(SPEC_EXAMPLE)
    data["variants"][0]["weight"] = 0
    data["variants"][1]["weight"] = 0
    assert errors_of(data) == [("variants", "weights must add up to more than 0")]
    data["variants"] = {"a": 1}
    assert errors_of(data) == [("variants", "expected a list of variants")]


def test_rule_error_str_and_dict():
    error = RuleError("when.all[2].value", "expected a number for cart.value")
    assert str(error) == "when.all[2].value: expected a number for cart.value"
    assert error.to_dict() == {
        "path": "when.all[2].value",
        "message": "expected a number for cart.value",
    }


def test_catalogue_is_json_data():
    data = catalogue()
    json.dumps(data)
    facts = {f["name"]: f for f in data["facts"]}
    assert facts["cart.value"] == {
        "name": "cart.value",
        "type": "number",
        "description": "value of the current cart",
        "time_growing": False,
        "operators": ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists", "not_exists"],
    }
    assert facts["page.time_s"]["time_growing"] is True
    assert facts["visitor.returning"]["operators"] == ["eq", "ne", "exists", "not_exists"]
    assert "glob" in facts["page.path"]["operators"]
    assert facts["visitor.attr.NAME"]["type"] == "any"
    assert facts["event.NAME"]["type"] == "number"
    assert {o["name"] for o in data["operators"]} == {
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "glob",
        "regex",
        "exists",
        "not_exists",
    }
    assert data["limits"] == {
        "max_depth": 8,
        "max_conditions": 64,
        "max_regex_chars": 256,
        "max_holdout_pct": 50,
    }
