"""docs/rules.md matches invitations/: every fact, operator (and the types it applies
to), rule/variant/gate field, gate code and limit is documented, nothing documented is
unknown to the code, and every JSON example is a valid rule or condition."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from invitations import caps, gates_parser, rules, signals
from invitations.catalogue import (
    ANY,
    BOOL,
    FACTS,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_HOLDOUT_PCT,
    MAX_REGEX_CHARS,
    NUMBER,
    OPERATORS,
    OPERATORS_BY_TYPE,
    STRING,
)
from invitations.errors import RuleError
from invitations.when_parser import parse_when

DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()
INVITATIONS = Path(rules.__file__).parent


def _section(title: str) -> str:
    """The text under the heading `title` (any level), up to the next heading."""
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", DOC, re.S | re.M)
    assert match, title
    return match.group(1)


def _table(section: str) -> dict[str, list[str]]:
    """First-column code name → the row's other cells, for every table row in `section`."""
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([^`]+)`", cells[0]) if line.startswith("|") else None
        if name:
            rows[name.group(1)] = cells[1:]
    return rows


def test_every_fact_is_documented_with_its_type() -> None:
    documented = _table(_section("Facts"))
    type_words = {STRING: "string", NUMBER: "number", BOOL: "bool", ANY: "any scalar"}
    expected = {name: spec.type for name, spec in FACTS.items()}
    expected |= {"visitor.attr.NAME": ANY, "event.NAME": NUMBER}
    assert set(documented) == set(expected)
    for name, ftype in expected.items():
        assert documented[name][0].startswith(type_words[ftype]), name
        time_growing = name in FACTS and FACTS[name].time_growing
        assert ("grows with time" in documented[name][0]) == time_growing, name


def test_every_operator_is_documented_with_the_types_it_applies_to() -> None:
    documented = _table(_section("Operators"))
    assert set(documented) == set(OPERATORS)
    words = {"string": STRING, "number": NUMBER, "bool": BOOL, "custom attribute": ANY}
    for op, cells in documented.items():
        applies = cells[-1]
        if applies == "every type":
            types = set(OPERATORS_BY_TYPE)
        else:
            types = {words[w.strip()] for w in applies.split(",")}
        assert types == {t for t, ops in OPERATORS_BY_TYPE.items() if op in ops}, op


def test_every_field_and_gate_is_documented() -> None:
    assert set(_table(_section("The rule object"))) == set(rules._RULE_FIELDS)
    assert set(_table(_section("Variants and text"))) == set(rules._VARIANT_FIELDS)
    assert set(_table(_section("Gates"))) == set(gates_parser._GATE_FIELDS)


def test_every_gate_code_is_documented_and_real() -> None:
    documented = set(_table(_section("Why a rule did not fire")))
    listed = re.search(r"Gate codes: (.*?)\.\n", caps.__doc__ or "", re.S)
    assert listed
    assert set(re.findall(r"`([a-z_]+)`", listed.group(1))) <= documented
    source = "".join(p.read_text() for p in INVITATIONS.glob("*.py"))
    for code in documented:
        assert f'"{code}"' in source, code


def test_every_struggle_signal_is_documented_with_its_cap() -> None:
    assert set(_table(_section("Struggle signals"))) == set(signals.BY_NAME)
    assert f"at most {signals.MAX_PER_VISIT} signals of one kind" in DOC


def test_limits_are_the_code_s() -> None:
    assert f"at most **{MAX_DEPTH}**" in DOC
    assert f"at most **{MAX_CONDITIONS}**" in DOC
    assert f"at most {MAX_REGEX_CHARS} characters" in DOC
    assert f"number, 0–{MAX_HOLDOUT_PCT}" in DOC
    assert f"from 0 to {rules.MAX_DELAY_S}" in DOC


def _json_examples() -> list[object]:
    blocks = re.findall(r"```json\n(.*?)```", DOC, re.S)
    return [json.loads(block) for block in blocks]


@pytest.mark.parametrize("example", _json_examples())
def test_every_json_example_is_valid(example: object) -> None:
    assert isinstance(example, dict)
    if "error" in example:  # the 422 answer: its paths point into a rule
        return
    if "variants" in example:
        assert rules.validate_rule(example) == []
        return
    errors: list[RuleError] = []
    assert parse_when(example, "when", errors) is not None, errors
