"""server/hub/socket_loop.py's closing_when_unavailable on the chat socket protocol: a
Store or Broker outage escaping an endpoint (its hello, before frames are answered) is
close 1013 — accepted first if need be — never 1011 or an HTTP refusal; anything else
is left to the protocol (1011)."""

from __future__ import annotations

from typing import Any

import pytest

from server.broker.base import BrokerUnavailable
from server.hub.socket_loop import closing_when_unavailable
from server.store.database import StoreUnavailable
from tests.unit.test_ws_protocol import ACCEPTED, HANDSHAKE, Harness, server_close

CLOSE_1013 = server_close(1013, "temporarily unavailable; reconnect")


@pytest.mark.parametrize("outage", [StoreUnavailable("refused"), BrokerUnavailable("refused")])
@pytest.mark.parametrize("accept_first", [True, False])
async def test_an_outage_escaping_the_endpoint_closes_1013(
    outage: Exception, accept_first: bool
) -> None:
    async def endpoint(ws: Any) -> None:
        if accept_first:
            await ws.accept()
        raise outage

    h = Harness(closing_when_unavailable(endpoint))
    h.feed(HANDSHAKE)
    await h.until(lambda: h.transport.out.endswith(CLOSE_1013))
    assert h.transport.take() == ACCEPTED + CLOSE_1013


async def test_other_failures_are_left_to_the_protocol() -> None:
    async def endpoint(ws: Any) -> None:
        await ws.accept()
        raise ValueError("a bug")

    h = Harness(closing_when_unavailable(endpoint))
    h.feed(HANDSHAKE)
    await h.task_done()
    assert h.transport.take() == ACCEPTED + server_close(1011, "internal error")
