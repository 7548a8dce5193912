"""Client address: literal peer and headers in, literal address out."""

from __future__ import annotations

import ipaddress

import pytest

from server.client_address import client_ip, forwarded_proto, scope_client_ip, scope_scheme
from server.settings import load_settings
from server.settings_parse import SettingsError

LB = [ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize(
    ("peer", "headers", "trusted", "expected"),
    [
        # Nothing trusted: the header is ignored, even from loopback.
        ("127.0.0.1", ["6.6.6.6"], [], "127.0.0.1"),
        # Untrusted peer: its header is a lie.
        ("8.8.8.8", ["6.6.6.6"], LB, "8.8.8.8"),
        # One trusted proxy: the rightmost hop is the client.
        ("10.0.0.5", ["1.2.3.4"], LB, "1.2.3.4"),
        # The client's own spoofed entries (left of the proxy's) are not believed.
        ("10.0.0.5", ["6.6.6.6, 1.2.3.4"], LB, "1.2.3.4"),
        # Two trusted proxies in a row: walk past both.
        ("10.0.0.5", ["1.2.3.4, 10.0.0.9"], LB, "1.2.3.4"),
        # Several header lines are one list.
        ("10.0.0.5", ["1.2.3.4", "10.0.0.9"], LB, "1.2.3.4"),
        # Malformed hop: stop at the last proven address.
        ("10.0.0.5", ["1.2.3.4, garbage"], LB, "10.0.0.5"),
        # Only trusted hops: the leftmost trusted one.
        ("10.0.0.5", ["10.0.0.7"], LB, "10.0.0.7"),
        ("10.0.0.5", [], LB, "10.0.0.5"),
        ("10.0.0.5", ["[2001:db8::1]:443"], LB, "2001:db8::1"),
        ("10.0.0.5", ["1.2.3.4:5678"], LB, "1.2.3.4"),
        (None, ["1.2.3.4"], LB, "unknown"),
    ],
)
def test_client_ip(peer, headers, trusted, expected) -> None:  # type: ignore[no-untyped-def]
    assert client_ip(peer, headers, trusted) == expected


def test_forwarded_proto_only_from_a_trusted_peer() -> None:
    assert forwarded_proto("10.0.0.5", "https", LB) == "https"
    assert forwarded_proto("8.8.8.8", "https", LB) is None
    assert forwarded_proto("10.0.0.5", "gopher", LB) is None
    assert forwarded_proto("10.0.0.5", "http, https", LB) == "https"


def test_scope_reads_every_header_line() -> None:
    scope = {
        "client": ("10.1.1.1", 5000),
        "headers": [(b"x-forwarded-for", b"9.9.9.9"), (b"x-forwarded-for", b"10.2.2.2")],
    }
    assert scope_client_ip(scope, LB) == "9.9.9.9"


def test_trusted_proxies_setting() -> None:
    env = {"BECKON_SECRET_KEY": "k" * 40, "BECKON_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}
    assert load_settings(env).trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
    )
    assert load_settings({"BECKON_SECRET_KEY": "k" * 40}).trusted_proxies == ()
    with pytest.raises(SettingsError, match="BECKON_TRUSTED_PROXIES: 'nope' is not an IP"):
        load_settings({**env, "BECKON_TRUSTED_PROXIES": "nope"})


def test_integer_settings_take_ascii_digits_only() -> None:
    with pytest.raises(SettingsError, match="BECKON_PORT: expected an integer, got '8²'"):
        load_settings({"BECKON_SECRET_KEY": "k" * 40, "BECKON_PORT": "8²"})


def test_scope_scheme_believes_x_forwarded_proto_only_from_a_trusted_proxy() -> None:
    def scope(peer: str, *protos: bytes, scheme: str = "http") -> dict:
        headers = [(b"x-forwarded-proto", p) for p in protos]
        return {"type": "http", "scheme": scheme, "client": (peer, 5000), "headers": headers}

    assert scope_scheme(scope("10.0.0.5", b"https"), LB) == "https"
    assert scope_scheme(scope("8.8.8.8", b"https"), LB) == "http"  # a browser's own header
    assert scope_scheme(scope("10.0.0.5", b"https"), ()) == "http"  # nothing trusted
    assert scope_scheme(scope("10.0.0.5", b"gopher"), LB) == "http"
    assert scope_scheme(scope("10.0.0.5", b"http", b"https"), LB) == "https"  # the last
    assert scope_scheme(scope("10.0.0.5"), LB) == "http"
    assert scope_scheme(scope("10.0.0.5", scheme="https"), LB) == "https"
    assert scope_scheme({"type": "http", "headers": []}, LB) == "http"
