"""The repository stands alone: no file points outside it (a spec, a path on the machine
it was written on, or an issue of the tracker the work was planned in), and every
relative link in the Markdown docs resolves to a file in the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Built from pieces so this file does not match itself.
OUTSIDE = ("../" + "shared", "/work/" + "shared", "/work/" + "main", "/work/" + "wt/")
# "issue 19", "issues 11 and 24", "issue-11": numbers a reader of the repository cannot open.
TRACKER = re.compile(r"\bissues?[ -]\d", re.IGNORECASE)
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def _tracked() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
    ).stdout.decode()
    return [ROOT / name for name in out.split("\0") if name and (ROOT / name).is_file()]


def _text(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary (screenshots)


def test_no_file_points_outside_the_repository() -> None:
    found = []
    for path in _tracked():
        text = _text(path)
        if text is None:
            continue
        for needle in OUTSIDE:
            if needle in text:
                found.append(f"{path.relative_to(ROOT)}: {needle}")
        for number, line in enumerate(text.splitlines(), 1):
            if TRACKER.search(line) and path.name != Path(__file__).name:
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert found == []


@pytest.mark.parametrize(
    "doc",
    sorted(str(p.relative_to(ROOT)) for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]),
)
def test_relative_links_resolve_inside_the_repository(doc: str) -> None:
    path = ROOT / doc
    broken = []
    for target in LINK.findall(path.read_text("utf-8")):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        resolved = (path.parent / target).resolve()
        if not resolved.exists() or ROOT not in resolved.parents:
            broken.append(target)
    assert broken == []
