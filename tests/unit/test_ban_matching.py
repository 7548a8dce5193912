"""Which bans hold (pure): visitor ids, addresses and networks, expiry, lifting one."""

from __future__ import annotations

import pytest

from server.bans.matching import BadTarget, Ban, banned, parse_network

NOW = 1_800_000_000_000


def _ban(ban_id: str = "bn_1", **row: object) -> Ban:
    return Ban.of({"id": ban_id, "visitor_id": None, "network": None, "expires_ts": None, **row})


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("203.0.113.7", "203.0.113.7/32"),
        (" 203.0.113.7/24 ", "203.0.113.0/24"),
        ("10.1.0.0/16", "10.1.0.0/16"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("2001:db8:1::/48", "2001:db8:1::/48"),
    ],
)
def test_parse_network(text: str, stored: str) -> None:
    assert parse_network(text) == stored


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("unknown", "not an IP address or CIDR network"),
        ("203.0.113.7/33", "not an IP address or CIDR network"),
        ("", "not an IP address or CIDR network"),
        ("10.0.0.0/15", "a network wider than /16 would ban too many visitors"),
        ("0.0.0.0/0", "a network wider than /16 would ban too many visitors"),
        ("::/0", "a network wider than /48 would ban too many visitors"),
    ],
)
def test_bad_networks(text: str, message: str) -> None:
    with pytest.raises(BadTarget) as raised:
        parse_network(text)
    assert str(raised.value) == message


def test_visitor_ban() -> None:
    ban = _ban(visitor_id="vi_1")
    assert ban.holds("vi_1", "198.51.100.1", NOW)
    assert not ban.holds("vi_2", "198.51.100.1", NOW)
    assert not ban.holds(None, None, NOW)


def test_network_ban() -> None:
    ban = _ban(network="203.0.113.0/24")
    assert ban.holds("vi_9", "203.0.113.200", NOW)
    assert ban.holds("vi_9", "::ffff:203.0.113.5", NOW)  # IPv4 through an IPv6 socket
    assert not ban.holds("vi_9", "203.0.114.1", NOW)
    assert not ban.holds("vi_9", "unknown", NOW)
    assert not ban.holds("vi_9", None, NOW)
    assert _ban(network="2001:db8::/48").holds(None, "2001:db8::42", NOW)


def test_expiry_is_exclusive() -> None:
    ban = _ban(visitor_id="vi_1", expires_ts=NOW)
    assert ban.holds("vi_1", None, NOW - 1)
    assert not ban.holds("vi_1", None, NOW)


def test_banned_skips_the_ban_being_lifted() -> None:
    bans = [_ban("bn_1", visitor_id="vi_1"), _ban("bn_2", network="192.0.2.0/24")]
    assert banned(bans, "vi_1", "192.0.2.1", NOW)
    assert banned(bans, "vi_1", "192.0.2.1", NOW, except_id="bn_1")  # the network still holds
    assert not banned(bans, "vi_1", "198.51.100.1", NOW, except_id="bn_1")
    assert not banned([], "vi_1", "192.0.2.1", NOW)
