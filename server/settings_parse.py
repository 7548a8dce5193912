"""Parsers for setting values: each takes (variable name, raw text) and returns the
value or raises `SettingsError` whose message starts with the variable's name."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Parser = Callable[[str, str], object]

_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def as_str(name: str, value: str) -> str:
    return value


def as_int(lo: int, hi: int) -> Parser:
    def parse(name: str, value: str) -> int:
        # ASCII digits only: int() would also take "²" or Arabic-Indic digits.
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise SettingsError(f"{name}: expected an integer, got {value!r}")
        number = int(text)
        if not lo <= number <= hi:
            raise SettingsError(f"{name}: {number} is outside {lo}..{hi}")
        return number

    return parse


def as_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}: expected true or false, got {value!r}")


def as_choice(choices: tuple[str, ...], upper: bool = False) -> Parser:
    def parse(name: str, value: str) -> str:
        text = value.strip().upper() if upper else value.strip()
        if text not in choices:
            raise SettingsError(f"{name}: expected one of {', '.join(choices)}")
        return text

    return parse


def as_url(schemes: tuple[str, ...], message: str | None = None) -> Parser:
    def parse(name: str, value: str) -> str:
        scheme = urlsplit(value).scheme if "://" in value else ""
        if scheme not in schemes:
            if message:
                raise SettingsError(f"{message}, got {value!r}")
            raise SettingsError(
                f"{name}: unknown URL scheme {scheme or value!r}; expected one of "
                + ", ".join(f"{s}://" for s in schemes)
            )
        return value

    return parse


def as_header_name(name: str, value: str) -> str:
    header = value.strip()
    if header and not _HEADER_NAME.fullmatch(header):
        raise SettingsError(f"{name}: expected a header name like CF-IPCountry, got {header!r}")
    return header.lower()


def as_cidrs(name: str, value: str) -> tuple[IPNetwork, ...]:
    networks = []
    for part in value.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise SettingsError(f"{name}: {text!r} is not an IP address or CIDR") from None
    return tuple(networks)


def as_token(min_length: int) -> Parser:
    """A secret token: empty (unset), or at least `min_length` printable characters."""

    def parse(name: str, value: str) -> str:
        token = value.strip()
        if token and (len(token) < min_length or not token.isprintable() or " " in token):
            raise SettingsError(
                f"{name}: expected at least {min_length} printable characters without spaces"
            )
        return token

    return parse


def as_media_types(name: str, value: str) -> tuple[str, ...]:
    """Comma-separated MIME types, each one Beckon knows how to check (server/media/kinds.py)."""
    from server.media.kinds import DEFAULT_MEDIA_TYPES  # the list lives with the checks

    types = tuple(dict.fromkeys(t.strip().lower() for t in value.split(",") if t.strip()))
    unknown = [t for t in types if t not in DEFAULT_MEDIA_TYPES]
    if unknown:
        raise SettingsError(
            f"{name}: {unknown[0]!r} is not a type Beckon can check; choose from "
            + ", ".join(DEFAULT_MEDIA_TYPES)
        )
    return types
