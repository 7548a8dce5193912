"""Who may read `/metrics`: a pure decision from the request and the settings.

Allowed when the request carries `Authorization: Bearer <BECKON_METRICS_TOKEN>` (when
that is set), or when the client address — as `BECKON_TRUSTED_PROXIES` resolves it —
is inside `BECKON_METRICS_ALLOW` (loopback by default). A request that arrives with a
forwarding header from a peer that is not a trusted proxy never qualifies by address:
a reverse proxy on the same machine would otherwise make every internet client look
like loopback.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

from server.client_address import scope_client_ip
from server.settings import Settings

FORWARDING_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def _bearer(headers: Mapping[str, str]) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _relayed_by_stranger(scope: dict, settings: Settings) -> bool:
    if not any(name in FORWARDING_HEADERS for name, _ in scope.get("headers", ())):
        return False
    client = scope.get("client")
    try:
        peer = ipaddress.ip_address(client[0]) if client else None
    except ValueError:
        return True
    return peer is None or not any(peer in net for net in settings.trusted_proxies)


def metrics_allowed(scope: dict, headers: Mapping[str, str], settings: Settings) -> bool:
    token = settings.metrics_token
    if token and hmac.compare_digest(_bearer(headers).encode(), token.encode()):
        return True
    if not settings.metrics_allow or _relayed_by_stranger(scope, settings):
        return False
    try:
        address = ipaddress.ip_address(scope_client_ip(scope, settings.trusted_proxies))
    except ValueError:
        return False
    return any(address in net for net in settings.metrics_allow)
