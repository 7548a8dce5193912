"""Which URLs a webhook may be sent to (SSRF): the URL's shape, and every address its
host resolves to — checked when an endpoint is saved and again before every attempt
(DNS rebinding), the request then going to the vetted address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from server.errors import ApiError


class TargetRefused(Exception):
    """The URL is not an allowed webhook target; the message says why."""


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url_shape(url: str) -> None:
    """Raise TargetRefused unless `url` is http(s)://host[:port]/… without credentials."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("the URL must start with https:// or http://")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials")
    if parts.fragment:
        raise TargetRefused("the URL must not have a #fragment")


async def resolve_target(url: str, allow_private: bool) -> list[str]:
    """The addresses `url`'s host resolves to, all of them allowed; else TargetRefused.

    Called at save time and again before every attempt (DNS rebinding); the request is
    then sent to the vetted address, so a second lookup cannot swap it.
    """
    check_url_shape(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise TargetRefused(f"cannot resolve {host}: {exc.strerror or exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefused(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            if _forbidden(ipaddress.ip_address(address.split("%", 1)[0])):
                raise TargetRefused(
                    f"{host} resolves to {address}, a private, loopback, link-local or "
                    "reserved address; such targets are refused"
                )
    return addresses


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL rewritten to `address`, with the Host header and TLS name of the original."""
    parts = urlsplit(url)
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return target, {"Host": parts.netloc}, extensions


async def validate_target(url: str, allow_private: bool) -> None:
    """For the REST API: TargetRefused becomes a 422 at the `url` field."""
    try:
        await resolve_target(url, allow_private)
    except TargetRefused as exc:
        raise ApiError(
            "validation_failed",
            "the webhook URL is not allowed",
            details=[{"path": "url", "message": str(exc)}],
        ) from None
