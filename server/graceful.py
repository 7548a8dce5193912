"""`beckon serve`'s uvicorn server: a shutdown that is ordered and bounded, so nodes can
be restarted one at a time without losing or stalling a chat.

On SIGTERM (or SIGINT) uvicorn stops accepting connections, then:
1. sockets: each chat socket reads nothing more, finishes the frame in hand (its ack is
   written) and closes with 1012, so its client reconnects to another node and resumes
   (server/ws_protocol.py); HTTP requests in flight finish. At most half the bound:
   then uvicorn cancels what is left.
2. the app's lifespan (server/app.py): domain events already emitted reach their
   listeners, webhook outbox rows are written and the deliveries in flight finish
   (the other half), then batched writes are flushed and the Store and Broker closed.
3. at the bound the process exits at once (exit code 1) with one line on stderr: a
   stuck Store or webhook target never holds a restart up. Work cut short is safe to
   lose: clients re-send unacknowledged messages, leased deliveries are retried.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import uvicorn

log = logging.getLogger("beckon.shutdown")

EXIT_OVERDUE = 1


def overdue_message(bound_s: float) -> bytes:
    return (
        f"beckon: shutdown took longer than BECKON_SHUTDOWN_TIMEOUT_S={bound_s:g} s; "
        "exiting with work left\n"
    ).encode()


class GracefulServer(uvicorn.Server):
    """uvicorn's server, whose shutdown ends the process within `bound_s` seconds.

    The sockets' share of the bound is uvicorn's `timeout_graceful_shutdown`, set here.
    """

    def __init__(self, config: uvicorn.Config, bound_s: float) -> None:
        config.timeout_graceful_shutdown = max(1, round(bound_s / 2))
        super().__init__(config)
        self.bound_s = bound_s

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # A thread, not a loop timer: it fires even if the loop itself is stuck.
        watchdog = threading.Timer(self.bound_s, self._overdue)
        watchdog.daemon = True
        watchdog.start()
        log.info("shutting down: sockets close with 1012, then in-flight work finishes")
        await super().shutdown(sockets)

    def _overdue(self) -> None:
        os.write(2, overdue_message(self.bound_s))
        os._exit(EXIT_OVERDUE)
