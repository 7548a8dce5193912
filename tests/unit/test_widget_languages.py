"""widget/i18n: every language says every text, with the same placeholders as English, so
no visitor meets an English sentence (or a raw `{n}`) inside a translated widget."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

I18N = Path(__file__).resolve().parents[2] / "widget" / "i18n"
ENGLISH = json.loads((I18N / "en.json").read_text("utf-8"))
OTHERS = sorted(p for p in I18N.glob("*.json") if p.name != "en.json")


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_all_eight_languages_are_there() -> None:
    assert [p.stem for p in OTHERS] == ["de", "es", "fr", "hr", "it", "sl", "sr"]


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: p.stem)
def test_a_language_has_the_same_keys_as_english(path: Path) -> None:
    strings = json.loads(path.read_text("utf-8"))
    assert sorted(set(ENGLISH) - set(strings)) == [], "missing"
    assert sorted(set(strings) - set(ENGLISH)) == [], "unknown"


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: p.stem)
def test_a_language_keeps_the_placeholders(path: Path) -> None:
    strings = json.loads(path.read_text("utf-8"))
    for key, english in ENGLISH.items():
        assert placeholders(strings[key]) == placeholders(english), key
        assert strings[key].strip(), key
