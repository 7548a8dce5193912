"""Origin checks for the visitor socket (pure)."""

from __future__ import annotations

from urllib.parse import urlsplit


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """True if `origin` matches an entry exactly (scheme, host and port) or a
    `scheme://*.example.com` wildcard, which matches subdomains but not the apex."""
    if not origin:
        return False
    origin = origin.lower().rstrip("/")
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    default_port = 443 if parts.scheme == "https" else 80
    for pattern in allowed:
        pattern_parts = urlsplit(pattern)
        if pattern_parts.scheme != parts.scheme:
            continue
        pattern_host = pattern_parts.hostname or ""
        pattern_port = pattern_parts.port or default_port
        if (port or default_port) != pattern_port:
            continue
        if pattern_host.startswith("*."):
            if parts.hostname.endswith(pattern_host[1:]):
                return True
        elif parts.hostname == pattern_host:
            return True
    return False
