"""The WebSocket opening handshake (RFC 6455 4.2): the upgrade request in, its parts or
the HTTP refusal out. Pure: bytes in, values or `HandshakeRefused` out."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any
from urllib.parse import unquote

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_REQUEST_BYTES = 16 * 1024
# Read only by the handshake; not kept for the socket's life.
HANDSHAKE_ONLY = frozenset(
    {
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "pragma",
        "cache-control",
        "accept-encoding",
    }
)


def accept_value(key: str) -> bytes:
    return base64.b64encode(hashlib.sha1(key.encode() + ACCEPT_GUID).digest())


def http_response(status: str, extra: bytes = b"", body: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 " + status.encode() + b"\r\n" + extra + b"content-type: text/plain\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class Headers(dict[str, str]):
    """Request headers by lower-case name; `get` takes any case, as Starlette's does."""

    __slots__ = ()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, key.lower(), default)


class HandshakeRefused(Exception):
    def __init__(self, response: bytes) -> None:
        super().__init__(response.split(b"\r\n", 1)[0].decode())
        self.response = response


def _bad_request(why: str) -> HandshakeRefused:
    return HandshakeRefused(http_response("400 Bad Request", body=why.encode() + b"\n"))


def parse_request(head: bytes) -> tuple[str, str, Headers, str]:
    """(path, query string, headers, Sec-WebSocket-Accept) of a valid upgrade request."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[2] != b"HTTP/1.1":
        raise _bad_request("not a GET over HTTP/1.1")
    headers = Headers()
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise _bad_request("malformed header")
        key = name.strip().lower().decode("latin-1")
        text = value.strip().decode("latin-1")
        if key in headers:
            text = headers[key] + ("; " if key == "cookie" else ", ") + text
        headers[key] = text
    if "websocket" not in _tokens(headers.get("upgrade", "")) or "upgrade" not in _tokens(
        headers.get("connection", "")
    ):
        raise _bad_request("not a WebSocket upgrade")
    if headers.get("sec-websocket-version") != "13":
        raise HandshakeRefused(
            http_response(
                "426 Upgrade Required",
                b"sec-websocket-version: 13\r\n",
                b"only WebSocket version 13 is supported\n",
            )
        )
    key = headers.get("sec-websocket-key", "")
    try:
        valid_key = len(base64.b64decode(key.encode(), validate=True)) == 16
    except (binascii.Error, UnicodeEncodeError):
        valid_key = False
    if not valid_key:
        raise _bad_request("invalid Sec-WebSocket-Key")
    raw_path, _, query = parts[1].partition(b"?")
    for name in HANDSHAKE_ONLY:
        headers.pop(name, None)
    return unquote(raw_path.decode("latin-1")), query.decode("latin-1"), headers, key


def _tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",")}
