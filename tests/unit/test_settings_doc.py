"""docs/configuration.md is generated from server/settings.py and must not drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.settings import setting_specs
from server.settings_doc import main, render

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


def test_the_reference_is_up_to_date() -> None:
    # On failure: python -m server.settings_doc
    assert DOC.read_text("utf-8") == render()


def test_every_variable_the_server_reads_is_documented() -> None:
    text = DOC.read_text("utf-8")
    sources = "".join(p.read_text("utf-8") for p in (ROOT / "server").rglob("*.py"))
    for name in sorted(set(re.findall(r"\bBECKON_[A-Z][A-Z0-9_]*[A-Z0-9]\b", sources))):
        assert f"| `{name}` |" in text, name


def test_every_setting_declares_a_variable_and_a_meaning() -> None:
    specs = setting_specs()
    assert len({env for _f, env, _d, _m in specs}) == len(specs)
    for field, env, _default, meaning in specs:
        assert env.startswith("BECKON_"), field
        assert meaning and "|" not in meaning, field  # one table cell


def test_check_fails_on_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text("# old\n")
    assert main(["--check", "--path", str(stale)]) == 1
    assert capsys.readouterr().err == (
        f"{stale} is out of date: run python -m server.settings_doc\n"
    )
    assert main(["--path", str(stale)]) == 0
    assert main(["--check", "--path", str(stale)]) == 0
    assert stale.read_text() == render()


def test_check_fails_on_a_missing_file(tmp_path: Path) -> None:
    assert main(["--check", "--path", str(tmp_path / "absent.md")]) == 1
