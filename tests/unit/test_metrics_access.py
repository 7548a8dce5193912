"""Who may read /metrics: literal peer, headers and settings in, literal decision out."""

from __future__ import annotations

import pytest

from server.metrics_access import metrics_allowed
from server.settings import load_settings
from server.settings_parse import SettingsError

TOKEN = "t" * 24


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings({"BECKON_SECRET_KEY": "k" * 32, **env})


def scope(peer: str, headers: dict[str, str] | None = None) -> dict:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return {"type": "http", "client": (peer, 40000), "headers": raw}


def allowed(peer: str, headers: dict[str, str] | None = None, **env: str) -> bool:
    headers = headers or {}
    lowered = {k.lower(): v for k, v in headers.items()}
    return metrics_allowed(scope(peer, headers), lowered, settings(**env))


@pytest.mark.parametrize(
    ("peer", "headers", "env", "expected"),
    [
        # The default: loopback only.
        ("127.0.0.1", {}, {}, True),
        ("::1", {}, {}, True),
        ("203.0.113.9", {}, {}, False),
        # Relayed by a proxy nobody named: never by address, even from loopback.
        ("127.0.0.1", {"X-Forwarded-For": "127.0.0.1"}, {}, False),
        ("127.0.0.1", {"Forwarded": "for=1.2.3.4"}, {}, False),
        ("127.0.0.1", {"X-Real-IP": "1.2.3.4"}, {}, False),
        # Through a trusted proxy, the client's own address decides.
        (
            "127.0.0.1",
            {"X-Forwarded-For": "10.1.2.3"},
            {"BECKON_TRUSTED_PROXIES": "127.0.0.1/32", "BECKON_METRICS_ALLOW": "10.0.0.0/8"},
            True,
        ),
        (
            "127.0.0.1",
            {"X-Forwarded-For": "203.0.113.9"},
            {"BECKON_TRUSTED_PROXIES": "127.0.0.1/32"},
            False,
        ),
        # An empty allow-list: nobody by address.
        ("127.0.0.1", {}, {"BECKON_METRICS_ALLOW": ""}, False),
        # The token, from anywhere, relayed or not; a wrong one or another scheme: no.
        (
            "203.0.113.9",
            {"Authorization": f"Bearer {TOKEN}"},
            {"BECKON_METRICS_TOKEN": TOKEN},
            True,
        ),
        (
            "127.0.0.1",
            {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "1.2.3.4"},
            {"BECKON_METRICS_TOKEN": TOKEN},
            True,
        ),
        ("203.0.113.9", {"Authorization": "Bearer nope"}, {"BECKON_METRICS_TOKEN": TOKEN}, False),
        (
            "203.0.113.9",
            {"Authorization": f"Basic {TOKEN}"},
            {"BECKON_METRICS_TOKEN": TOKEN},
            False,
        ),
        # No token configured: an empty bearer never matches.
        ("203.0.113.9", {"Authorization": "Bearer "}, {}, False),
    ],
)
def test_who_may_read_metrics(
    peer: str, headers: dict[str, str], env: dict[str, str], expected: bool
) -> None:
    assert allowed(peer, headers, **env) is expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short", "BECKON_METRICS_TOKEN: expected at least 24 printable characters without spaces"),
        (
            "a" * 20 + " " + "b" * 10,
            "BECKON_METRICS_TOKEN: expected at least 24 printable characters without spaces",
        ),
    ],
)
def test_a_bad_metrics_token_is_refused(value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(BECKON_METRICS_TOKEN=value)
    assert str(caught.value) == message


def test_a_bad_allow_list_is_refused() -> None:
    with pytest.raises(SettingsError) as caught:
        settings(BECKON_METRICS_ALLOW="10.0.0.0/8,nope")
    assert str(caught.value) == "BECKON_METRICS_ALLOW: 'nope' is not an IP address or CIDR"
