"""A built wheel serves: built from this checkout, installed into a fresh
venv outside it, `beckon serve` in an empty directory with no BECKON_* variable serves the
readiness probe, the widget, the console, the admin and the demo shop.

No network: the wheel is built with `--no-isolation` (the test extra brings `build`,
`setuptools` and `wheel`), installed with `--no-deps`, and the fresh venv reaches the
dependencies through a `.pth` line naming this venv's site-packages — a `.pth` line adds a
directory, not the `.pth` files inside it, so the checkout's editable install stays out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tests.beckon_process import BeckonProcess, env_without_beckon

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
pytestmark = pytest.mark.timeout(300)


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv, outside the checkout, holding only the wheel built from it."""
    work = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", work / "dist", ROOT)
    (wheel,) = (work / "dist").glob("beckon_chat-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    # Only now (pip would otherwise see this venv's editable install as already there).
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    (Path(site.strip()) / "zz_beckon_test_deps.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    return venv


def _fresh_env() -> dict[str, str]:
    env = env_without_beckon()
    env.pop("PYTHONPATH", None)
    return env


def test_wheel_holds_the_browser_files_under_our_package(venv: Path, tmp_path: Path) -> None:
    out = _run(
        venv / "bin" / "python",
        "-c",
        "import server.web, sysconfig; print(server.web.__file__); "
        "print(sysconfig.get_path('purelib')); print(server.web.installed_browser_files())",
        cwd=tmp_path,
    )
    module, site, files = out.splitlines()
    site_packages = Path(site)
    assert Path(module) == site_packages / "server" / "web" / "__init__.py"
    assert str(site_packages / "server" / "web" / "widget") in files
    assert str(site_packages / "server" / "web" / "static") in files
    # No generic top-level packages of browser files in site-packages.
    assert not (site_packages / "widget").exists()
    assert not (site_packages / "static").exists()
    assert (site_packages / "server" / "broker" / "lua" / "take_slot.lua").is_file()
    assert (site_packages / "server" / "store" / "migrations" / "versions").is_dir()


def test_installed_lua_scripts_and_migrations_match_the_checkout(
    venv: Path, tmp_path: Path
) -> None:
    out = _run(
        venv / "bin" / "python",
        "-c",
        "from server.broker.lua_scripts import load_lua_scripts as l; "
        "from server.store.migrate import head_revision as h; "
        "print(' '.join(sorted(l()))); print(h())",
        cwd=tmp_path,
    )
    scripts, head = out.splitlines()
    lua = sorted(p.stem for p in (ROOT / "server" / "broker" / "lua").glob("*.lua"))
    assert scripts.split() == lua
    versions = sorted((ROOT / "server" / "store" / "migrations" / "versions").glob("0*.py"))
    assert head == versions[-1].name.split("_", 1)[0]


def test_version_flag_prints_the_package_version(venv: Path, tmp_path: Path) -> None:
    out = _run(venv / "bin" / "beckon", "--version", cwd=tmp_path)
    assert out == f"beckon {VERSION}\n"


async def test_installed_wheel_serves_everything_from_an_empty_directory(
    venv: Path, tmp_path: Path
) -> None:
    home = tmp_path / "empty"
    home.mkdir()
    node = BeckonProcess(_fresh_env(), home, command=[str(venv / "bin" / "beckon")])
    try:
        await node.start()
        async with node.client() as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            widget = await client.get("/widget.js")
            assert widget.status_code == 200
            assert widget.headers["content-type"] == "text/javascript; charset=utf-8"
            assert widget.text.startswith("(()=>{'use strict';const B={};")
            agent = await client.get("/agent/")
            assert agent.status_code == 200
            assert "<html" in agent.text.lower()
            admin = await client.get("/admin/")
            assert admin.status_code == 200
            assert "<html" in admin.text.lower()
            demo = await client.get("/demo/")
            assert demo.status_code == 200, demo.text
            assert "/widget.js" in demo.text
            css = await client.get("/demo/assets/shop.css")
            assert css.status_code == 200
            lang = await client.get("/widget/i18n/de.json")
            assert lang.status_code == 200
    finally:
        await node.stop()
    # The first run made its database and secret in the directory it was started in.
    assert (home / "beckon.db").is_file()
    assert (home / "beckon.secret").is_file()
    assert "Traceback" not in node.log()


def test_importing_does_not_reach_the_checkout(venv: Path, tmp_path: Path) -> None:
    out = _run(
        venv / "bin" / "python",
        "-c",
        "import sys, server, invitations; print(server.__file__); print(invitations.__file__)",
        cwd=tmp_path,
    )
    for line in out.splitlines():
        assert not line.startswith(str(ROOT) + os.sep), line
