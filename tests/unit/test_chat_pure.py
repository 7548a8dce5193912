"""Pure pieces of the chat path: tokens, origins, rate limits, the state machine."""

from __future__ import annotations

import pytest

from server.chat import visitor_token as tokens
from server.chat.state import Action, BadTransition, Status, next_status, sources_of
from server.hub.origins import origin_allowed
from server.hub.ratelimit import Abuse, TokenBucket

KEY = b"k" * 32
NOW = 1_800_000_000_000


def test_visitor_token_round_trip_and_rejections() -> None:
    token = tokens.issue(KEY, "st_a", "vi_1", NOW)
    assert tokens.verify(KEY, token, "st_a", NOW + 1000) == "vi_1"
    assert tokens.verify(KEY, token, "st_b", NOW) is None  # another site's token
    assert tokens.verify(b"x" * 32, token, "st_a", NOW) is None  # another key
    assert tokens.verify(KEY, token, "st_a", NOW + tokens.TOKEN_TTL_MS) is None  # expired
    assert tokens.verify(KEY, token, "st_a", NOW - 1) is None  # from the future
    head, body, sig = token.split(".")
    assert tokens.verify(KEY, f"{head}.{body}x.{sig}", "st_a", NOW) is None
    for garbage in ("", "v1", "v1..", "v2.a.b", "x" * 600, "v1.!!!.###"):
        assert tokens.verify(KEY, garbage, "st_a", NOW) is None


def test_identity_hash_is_hex_hmac_sha256() -> None:
    # echo -n u42 | openssl dgst -sha256 -hmac secret
    digest = tokens.identity_hash("secret", "u42")
    assert digest == "168f3ef0b95e3bc5eea6df8da6e5280ec3fef293908e5efc458372588ba8ab8b"
    assert tokens.identity_ok("secret", "u42", digest.upper())
    assert not tokens.identity_ok("secret", "u43", digest)


@pytest.mark.parametrize(
    ("origin", "allowed", "ok"),
    [
        ("https://shop.example.com", ["https://shop.example.com"], True),
        ("https://shop.example.com/", ["https://shop.example.com"], True),
        ("https://SHOP.example.com", ["https://shop.example.com"], True),
        ("http://shop.example.com", ["https://shop.example.com"], False),
        ("https://shop.example.com:8443", ["https://shop.example.com"], False),
        ("https://shop.example.com:443", ["https://shop.example.com"], True),
        ("https://a.example.org", ["https://*.example.org"], True),
        ("https://a.b.example.org", ["https://*.example.org"], True),
        ("https://example.org", ["https://*.example.org"], False),
        ("https://evilexample.org", ["https://*.example.org"], False),
        ("null", ["https://shop.example.com"], False),
        (None, ["https://shop.example.com"], False),
        ("https://shop.example.com:99999", ["https://shop.example.com"], False),
    ],
)
def test_origin_matching(origin: str | None, allowed: list[str], ok: bool) -> None:
    assert origin_allowed(origin, allowed) is ok


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.4) is False  # 0.8 tokens refilled
    assert bucket.take(0.5) is True  # 1.0 token
    assert bucket.take(100.0) and bucket.take(100.0) and bucket.take(100.0)
    assert not bucket.take(100.0)  # never above the burst


def test_abuse_budget_closes_a_sustained_flood() -> None:
    abuse = Abuse.default()
    strikes = [abuse.strike(0.0) for _ in range(101)]
    assert strikes[:100] == [False] * 100 and strikes[100] is True


@pytest.mark.parametrize(
    ("status", "action", "target"),
    [
        ("queued", Action.ACCEPT, Status.ACTIVE),
        ("queued", Action.CLOSE, Status.CLOSED),
        ("active", Action.CLOSE, Status.CLOSED),
        ("active", Action.REQUEUE, Status.QUEUED),
        ("active", Action.TRANSFER_TO_AGENT, Status.ACTIVE),
    ],
)
def test_allowed_transitions(status: str, action: Action, target: Status) -> None:
    assert next_status(status, action) is target


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("closed", Action.CLOSE, "cannot close a closed conversation"),
        ("active", Action.ACCEPT, "cannot accept a active conversation"),
        ("closed", Action.ACCEPT, "cannot accept a closed conversation"),
        ("queued", Action.REQUEUE, "cannot requeue a queued conversation"),
    ],
)
def test_bad_transitions_are_conflicts(status: str, action: Action, message: str) -> None:
    with pytest.raises(BadTransition, match=f"^{message}$"):
        next_status(status, action)


def test_sources_of() -> None:
    assert sources_of(Action.CLOSE) == ("queued", "active")
    assert sources_of(Action.ACCEPT) == ("queued",)
