"""The widget's and the console's emoji pickers offer the same curated set,
each emoji parseable from its name, and no emoji twice."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r"const EMOJI = '([^']*)';")


def emoji_set(path: Path) -> str:
    (data,) = LITERAL.findall(path.read_text("utf-8"))
    return data


def test_widget_and_console_share_one_set() -> None:
    widget = emoji_set(ROOT / "widget" / "more" / "emoji.js")
    console = emoji_set(ROOT / "static" / "agent" / "js" / "emoji.js")
    assert widget == console
    entries = [
        entry for category in widget.split("|") for entry in category.split(":", 1)[1].split(",")
    ]
    parsed = [re.fullmatch(r"([^a-z]+)([a-z][a-z ]*)", entry) for entry in entries]
    assert all(parsed), [e for e, p in zip(entries, parsed, strict=True) if not p]
    chars = [p.group(1) for p in parsed if p]
    assert len(chars) == len(set(chars)) >= 250
    assert not any(c.isascii() for char in chars for c in char)
