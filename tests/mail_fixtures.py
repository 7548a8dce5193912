"""What the email tests share: the environment that points a node at an `SmtpSink`, a node
started with it, and `beckon mail-in` running beside a node."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from tests.beckon_process import BECKON, BeckonProcess, free_port, running_node
from tests.smtp_sink import SmtpSink
from tests.waiting import wait_until


def mail_env(sink: SmtpSink, **extra: str) -> dict[str, str]:
    """Settings sending through `sink`, polled and retried fast enough for a test."""
    return {
        "BECKON_SMTP_URL": sink.url,
        "BECKON_MAIL_FROM": "help@shop.test",
        "BECKON_MAIL_POLL_S": "0.1",
        "BECKON_MAIL_RETRY_BASE_S": "0.3",
        "BECKON_MAIL_GRACE_S": "0",
        **extra,
    }


@contextlib.asynccontextmanager
async def started_sink() -> AsyncIterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def mail_node(directory: Path, sink: SmtpSink, **extra: str) -> AsyncIterator[BeckonProcess]:
    """A node (with the test admin) that sends its email to `sink`."""
    async with running_node(directory, env=mail_env(sink, **extra)) as process:
        yield process


@contextlib.asynccontextmanager
async def mail_in_listener(node: BeckonProcess) -> AsyncIterator[int]:
    """`beckon mail-in` on a free port, forwarding to `node`; yields the port."""
    port = free_port()
    args = ["mail-in", "--port", str(port), "--forward-to", node.url]
    proc = await asyncio.create_subprocess_exec(
        *BECKON, *args, env=node.env, cwd=node.cwd, stdout=asyncio.subprocess.DEVNULL
    )

    async def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        await wait_until(listening, bool, 20, "mail-in listening")
        yield port
    finally:
        proc.terminate()
        await proc.wait()
