"""Per client address limits on visitor sockets (docs/security.md, "Per-IP limits"):
open sockets and connects per second, counted in the Broker so every node sharing it
shares the budget (Lua on Redis, the in-process twins on `memory://`).

The address is the TCP peer's, or what a trusted proxy says it is
(`server/client_address.py`): nothing is trusted by default, so a forged
`X-Forwarded-For` changes nothing, and behind a trusted proxy each client it names has
its own budget rather than everyone sharing the proxy's.

Open sockets are counted per node (`address_sockets_take`): a node renews its counts
while it lives, and a node that dies is forgotten after `LEASE_TTL_S` with its sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from server.broker.base import Broker
from server.chat import quotas
from server.chat.quotas import Quota
from server.client_address import client_ip, scope_client_ip
from server.settings import Settings

log = logging.getLogger("beckon.limits")
LEASE_TTL_S = 60
CLOSE_TOO_MANY = 4429
TOO_MANY_CONNECTS = "too many connections from this address; retry shortly"
TOO_MANY_SOCKETS = "too many open sockets from this address"


def socket_client_ip(ws: Any, settings: Settings) -> str:
    """The client address of a visitor socket, under any server: an ASGI WebSocket has
    a scope; `beckon serve`'s own protocol (`server/ws_protocol.py`) has the transport."""
    scope = getattr(ws, "scope", None)
    if scope is not None:
        return scope_client_ip(scope, settings.trusted_proxies)
    peer = ws.transport.get_extra_info("peername") if ws.transport is not None else None
    host = peer[0] if isinstance(peer, tuple) and peer else None
    forwarded = ws.headers.get("x-forwarded-for")
    return client_ip(host, [forwarded] if forwarded else [], settings.trusted_proxies)


def _keys(address: str) -> list[str]:
    return [f"addr:{{{address}}}:expiry", f"addr:{{{address}}}:sockets"]


class AddressLimits:
    """One per node."""

    def __init__(self, broker: Broker, node_id: str, settings: Settings) -> None:
        self._broker = broker
        self._node = node_id
        self.max_sockets = settings.ip_max_visitor_sockets
        self._connects = Quota("connect", settings.ip_visitor_connects_per_s, 1)
        self._local: dict[str, int] = {}  # address -> its sockets open on this node
        self._renewer: asyncio.Task[None] | None = None

    async def open_socket(self, address: str) -> str | None:
        """Count a new socket of `address`: None when it may go on (call `close_socket`
        when it ends), else the close reason. Raises BrokerUnavailable."""
        if not await quotas.take(self._broker, self._connects, "ip", address):
            return TOO_MANY_CONNECTS
        taken = await self._broker.run_script(
            "address_sockets_take",
            _keys(address),
            [self._node, self.max_sockets, LEASE_TTL_S * 1000],
        )
        if taken == -1:
            return TOO_MANY_SOCKETS
        self._local[address] = self._local.get(address, 0) + 1
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew())
        return None

    async def close_socket(self, address: str) -> None:
        """One socket counted by `open_socket` ended."""
        count = self._local.get(address, 0) - 1
        if count > 0:
            self._local[address] = count
        else:
            self._local.pop(address, None)
        try:
            await self._broker.run_script("address_sockets_release", _keys(address), [self._node])
        except Exception as exc:  # the count expires with this node's lease; say so
            log.warning("an address's socket count was not released: %r", exc)

    async def _renew(self) -> None:
        # One loop per node, one call per address with sockets here (not per socket).
        while True:
            await asyncio.sleep(LEASE_TTL_S / 3)
            for address in list(self._local):
                with contextlib.suppress(Exception):
                    await self._broker.run_script(
                        "address_sockets_renew",
                        _keys(address),
                        [self._node, LEASE_TTL_S * 1000],
                    )

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
