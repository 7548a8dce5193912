"""docs/deploy/: the systemd unit is valid and starts `beckon serve` with real flags, and
the example environment file loads as settings."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import _parser
from server.settings import load_settings, setting_specs

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy"
INSTALLED_BECKON = "/opt/beckon/bin/beckon"


def _unit_values(key: str) -> list[str]:
    text = (DEPLOY / "beckon.service").read_text()
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def test_the_unit_starts_beckon_serve_with_flags_the_cli_knows() -> None:
    (exec_start,) = _unit_values("ExecStart")
    binary, *args = shlex.split(exec_start)
    assert binary == INSTALLED_BECKON
    parsed = _parser().parse_args(args)
    assert (parsed.command, parsed.host, parsed.port) == ("serve", "127.0.0.1", 8000)
    assert _unit_values("RestartPreventExitStatus") == ["2"]  # the CLI's bad-config exit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # systemd-analyze checks that ExecStart's binary exists: point it at one that does.
    unit = (DEPLOY / "beckon.service").read_text().replace(INSTALLED_BECKON, sys.executable)
    (tmp_path / "beckon.service").write_text(unit)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / "beckon.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_the_example_environment_loads() -> None:
    env = {}
    for line in (DEPLOY / "beckon.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split("=", 1)
            env[name] = value
    known = {spec_env for _f, spec_env, _d, _m in setting_specs()}
    assert set(env) <= known
    settings = load_settings(env)
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert (settings.log_format, settings.public_url) == ("json", "https://chat.example.com")
