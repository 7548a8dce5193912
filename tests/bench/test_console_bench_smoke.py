"""The console's UI bench works: `python -m bench console --quick` runs the console in
Chromium over 200 live visitors and writes every figure. Figures are not
asserted — the machine decides those — only that each exists, and the two that are
not about speed: the counts were exact and the console's socket never closed."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIGURES = (
    "first_rows_s",
    "long_tasks_min",
    "input_p95_ms",
    "switch_ms",
    "console_bytes_s",
    "server_cpu",
    "server_rss_mb",
)


@pytest.mark.browser
def test_console_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "console.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "console", "--quick", "--output", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (result,) = json.loads(out.read_text())
    assert result["visitors"] == 200
    for key in FIGURES:
        value = result[key]
        assert isinstance(value, int | float) and math.isfinite(value) and value >= 0, key
    assert (result["counts_exact"], result["console_closed"]) == (True, 0)
    assert "| first rows |" in done.stdout and "200 visitors" in done.stdout
