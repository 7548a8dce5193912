"""server/graceful.py: the shutdown's share for sockets, and the hard bound — a node whose
shutdown blocks exits at BECKON_SHUTDOWN_TIMEOUT_S with one line, never hangs."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvicorn
from starlette.applications import Starlette

from server.graceful import EXIT_OVERDUE, GracefulServer, overdue_message
from server.settings import load_settings
from server.settings_parse import SettingsError

SECRET = {"BECKON_SECRET_KEY": "k" * 40}
# A server whose lifespan asks for its own shutdown once started, then blocks the
# event loop while shutting down (a stuck step: no await, no timeout can end it).
BLOCKED_SHUTDOWN = """
import asyncio, contextlib, os, signal, time
import uvicorn
from starlette.applications import Starlette
from server.graceful import GracefulServer

@contextlib.asynccontextmanager
async def lifespan(app):
    os.kill(os.getpid(), signal.SIGTERM)
    yield
    time.sleep(120)

config = uvicorn.Config(Starlette(lifespan=lifespan), host="127.0.0.1", port=0,
                        log_level="error", lifespan="on")
asyncio.run(GracefulServer(config, 1).serve())
"""


def test_sockets_get_half_the_bound() -> None:
    def server(bound_s: float) -> GracefulServer:
        return GracefulServer(uvicorn.Config(Starlette()), bound_s)

    assert server(10).config.timeout_graceful_shutdown == 5
    assert server(1).config.timeout_graceful_shutdown == 1
    assert server(10).bound_s == 10


def test_shutdown_timeout_setting() -> None:
    assert load_settings(SECRET).shutdown_timeout_s == 10
    assert load_settings({**SECRET, "BECKON_SHUTDOWN_TIMEOUT_S": "30"}).shutdown_timeout_s == 30
    with pytest.raises(SettingsError, match=r"^BECKON_SHUTDOWN_TIMEOUT_S: 0 is outside 1\.\.3600$"):
        load_settings({**SECRET, "BECKON_SHUTDOWN_TIMEOUT_S": "0"})
    with pytest.raises(
        SettingsError, match=r"^BECKON_SHUTDOWN_TIMEOUT_S: expected an integer, got .soon.$"
    ):
        load_settings({**SECRET, "BECKON_SHUTDOWN_TIMEOUT_S": "soon"})


async def test_a_blocked_shutdown_ends_at_the_bound() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BLOCKED_SHUTDOWN,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # Far below the 120 s the shutdown step would take.
        _out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == EXIT_OVERDUE
    assert err.endswith(overdue_message(1))
    assert overdue_message(1) == (
        b"beckon: shutdown took longer than BECKON_SHUTDOWN_TIMEOUT_S=1 s; exiting with work left\n"
    )
