"""Which bans hold for a visitor (pure: bans, the visitor's id and address, `now` in).

A ban names a visitor id or a network; a single address is stored as its /32 or /128.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Wider networks would ban a whole provider's customers by one click.
MIN_PREFIX = {4: 16, 6: 48}


class BadTarget(ValueError):
    """An address or network that cannot be banned; the message says why."""


@dataclass(frozen=True, slots=True)
class Ban:
    id: str
    visitor_id: str | None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    expires_ts: int | None  # ms; None: until lifted

    @classmethod
    def of(cls, row: dict[str, Any]) -> Ban:
        network = ipaddress.ip_network(row["network"]) if row.get("network") else None
        return cls(row["id"], row.get("visitor_id"), network, row.get("expires_ts"))

    def holds(self, visitor_id: str | None, address: str | None, now: int) -> bool:
        if self.expires_ts is not None and self.expires_ts <= now:
            return False
        if self.visitor_id is not None:
            return visitor_id == self.visitor_id
        ip = _address(address)
        return ip is not None and self.network is not None and ip in self.network


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None  # "unknown": no address ban can match it
    # An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 client.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def parse_network(text: str) -> str:
    """An address or CIDR network as stored ("203.0.113.7/32", "2001:db8::/48"); host
    bits are cleared. Raises BadTarget for anything else or for a too wide network."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise BadTarget("not an IP address or CIDR network") from None
    least = MIN_PREFIX[network.version]
    if network.prefixlen < least:
        raise BadTarget(f"a network wider than /{least} would ban too many visitors")
    return str(network)


def banned(
    bans: Iterable[Ban],
    visitor_id: str | None,
    address: str | None,
    now: int,
    *,
    except_id: str | None = None,
) -> bool:
    """Whether any ban (but `except_id`, one being lifted) holds for this visitor."""
    return any(b.id != except_id and b.holds(visitor_id, address, now) for b in bans)
