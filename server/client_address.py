"""Who the client is: the peer address, or what trusted proxies say it is.

`X-Forwarded-For` is believed only hop by hop from the right: the peer must be a
trusted proxy, and each address it names is the client unless that address is itself a
trusted proxy. Nothing is trusted by default (not even loopback), so a header sent by a
browser straight to a node changes nothing, and a lockout keyed by address never lands
on everyone behind one proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from server.settings_parse import IPNetwork

UNKNOWN = "unknown"


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: Sequence[IPNetwork]
) -> bool:
    return any(address in net for net in nets)


def client_ip(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]) -> str:
    """The client's address as text.

    `peer` is the TCP peer's host; `forwarded_for` every `X-Forwarded-For` header value
    in order. A malformed entry ends the walk: the last address proven so far is used.
    """
    if not peer:
        return UNKNOWN
    current = _parse(peer)
    if current is None:
        return peer
    if not trusted or not _trusted(current, trusted):
        return str(current)
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break
        current = address
        if not _trusted(current, trusted):
            break
    return str(current)


def forwarded_proto(
    peer: str | None, header: str | None, trusted: Sequence[IPNetwork]
) -> str | None:
    """`X-Forwarded-Proto` ("http"/"https") when the peer is a trusted proxy, else None."""
    address = _parse(peer) if peer else None
    if address is None or not header or not _trusted(address, trusted):
        return None
    proto = header.split(",")[-1].strip().lower()
    return proto if proto in ("http", "https") else None


def scope_client_ip(scope: dict, trusted: Sequence[IPNetwork]) -> str:
    """`client_ip` for an ASGI HTTP or WebSocket scope."""
    client = scope.get("client")
    peer = client[0] if client else None
    values = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    return client_ip(peer, values, trusted)


def scope_scheme(scope: dict, trusted: Sequence[IPNetwork]) -> str:
    """The scheme the browser used ("http" or "https") for an ASGI HTTP scope: a
    trusted proxy's `X-Forwarded-Proto` (TLS ended at the proxy), else the scope's own."""
    client = scope.get("client")
    header = None
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            header = value.decode("latin-1")
    proto = forwarded_proto(client[0] if client else None, header, trusted)
    return proto or str(scope.get("scheme", "http"))
