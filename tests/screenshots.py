"""Where browser tests keep their screenshots.

Tests never rewrite tracked files: screenshots go to `test-artifacts/screenshots/`
(ignored by git). `BECKON_REFRESH_SCREENSHOTS=1 ./scripts/test tests/browser` writes them
to `docs/screenshots/` instead, to refresh the README's pictures on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def screenshots_dir() -> Path:
    """The folder for this run's screenshots (created)."""
    if os.environ.get("BECKON_REFRESH_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
    else:
        folder = ROOT / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
