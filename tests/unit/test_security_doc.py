"""docs/security.md names the test behind each promise: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
# `tests/x/test_y.py::test_z[param]`, or `::test_z` / `TI::test_z` naming a test of a file
# named nearby.
NAMED = re.compile(r"(tests/[\w/]+\.py)?(?:[A-Z]{2})?::(test_\w+)")
FILE = re.compile(r"tests/[\w/]+\.py")


def _defined_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^\s*(?:async )?def (test_\w+)", path.read_text(), re.M))
    return names


def test_every_test_the_security_doc_names_exists() -> None:
    text = DOC.read_text()
    defined = _defined_tests()
    missing_files = sorted({f for f in FILE.findall(text) if not (ROOT / f).exists()})
    missing_tests = sorted({name for _file, name in NAMED.findall(text) if name not in defined})
    assert missing_files == []
    assert missing_tests == []


def test_the_threat_model_covers_each_kind_of_user() -> None:
    model = DOC.read_text().split("## Threat model", 1)[1].split("\n## ", 1)[0]
    for who in ("anonymous visitor", "agent", "marketer", "admin", "credential"):
        assert who in model.lower(), who
    # Each promise names its proof.
    rows = [line for line in model.splitlines() if line.startswith("| ") and "---" not in line]
    promises = [row for row in rows if not row.startswith("| can / cannot")]
    assert promises and all("test_" in row or "](#" in row for row in promises)
