"""Host lists in broker URLs (`host[:port],[v6]:port,...`), shared by the Sentinel and
Cluster URL forms."""

from __future__ import annotations


def parse_host_port(item: str, scheme: str, default_port: int, form: str) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port`; raise ValueError naming `scheme` if malformed."""
    if item.startswith("["):
        host, bracket, rest = item[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"bad address {item!r} in a {scheme}:// URL")
        port_text = rest[1:]
    else:
        host, _, port_text = item.partition(":")
    if not host:
        raise ValueError(f"a {scheme}:// URL lists its hosts as host:port,...: {form}")
    if not port_text:
        return host, default_port
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port {port_text!r} in a {scheme}:// URL")
    return host, int(port_text)
