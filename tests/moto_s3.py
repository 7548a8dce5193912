"""moto's standalone S3 server on a free loopback port, for the S3 media backend's tests.

A real HTTP server in its own process: the backend talks to it exactly as to S3 (style
habit 8). Each test creates its own bucket, so tests never see each other's objects.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.beckon_process import free_port

START_TIMEOUT_S = 30
POLL_S = 0.05
# moto accepts any credentials; botocore only needs some to sign with.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    """Run `moto.server` on `port` (a free one by default); yields its endpoint URL."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(port):
            if proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("moto server did not start")
            time.sleep(POLL_S)  # polling a port opening: tests/waiting.py's one allowed case
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
