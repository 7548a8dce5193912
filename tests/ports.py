"""Free loopback ports for the servers tests start, one block of ports per test worker.

`bind(("127.0.0.1", 0))` then close hands out a port that is free *now*; another worker
may be handed the same one before the server that asked for it binds it. Then one of
the two servers cannot bind, and a readiness probe on that port is answered by the
other test's server: the test goes on talking to a stranger, which the other test stops
under it (sockets closed with 1012 mid-test, seen in the suite). So each pytest-xdist
worker takes its ports from its own block, below the kernel's ephemeral range (32768+,
where outgoing connections and `bind(0)` take theirs), cycling through the block so a
port just released is not reused at once.
"""

from __future__ import annotations

import itertools
import os
import random
import socket

BLOCK_SIZE = 1000
FIRST_BLOCK = 20_000
BLOCKS = 9  # gw0 … gw7, and one for a run without workers


def _block_start() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    digits = "".join(c for c in worker if c.isdigit())
    index = int(digits) % (BLOCKS - 1) if digits else BLOCKS - 1
    return FIRST_BLOCK + BLOCK_SIZE * index


_turn = itertools.count(random.randrange(BLOCK_SIZE))


def is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(pair_offset: int | None = None) -> int:
    """A free loopback port of this worker's block (and `port + pair_offset` free too:
    a Redis Cluster node's bus port)."""
    start = _block_start()
    for _ in range(BLOCK_SIZE):
        port = start + next(_turn) % BLOCK_SIZE
        if is_free(port) and (pair_offset is None or is_free(port + pair_offset)):
            return port
    raise RuntimeError(f"no free port in {start}–{start + BLOCK_SIZE - 1}")
