"""BECKON_SMTP_URL: literal URL in → target or exact error out."""

from __future__ import annotations

import pytest

from server.mail.smtp_url import SmtpTarget, parse_smtp_url
from server.settings import SettingsError, load_settings
from tests.beckon_process import TEST_SECRET


def test_starttls_with_login() -> None:
    assert parse_smtp_url("smtp://us%40er:p%3Aw@mail.example.com:587?starttls=1") == SmtpTarget(
        host="mail.example.com",
        port=587,
        username="us@er",
        password="p:w",
        start_tls=True,
    )


def test_smtps_defaults_to_465_and_plain_smtp_to_25() -> None:
    assert parse_smtp_url("smtps://mx.example.com").port == 465
    assert parse_smtp_url("smtps://mx.example.com").use_tls is True
    assert parse_smtp_url("smtp://127.0.0.1?timeout=5") == SmtpTarget("127.0.0.1", 25, timeout_s=5)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mx.example.com", "scheme must be smtp:// or smtps://, got 'http'"),
        ("smtp://", "no host"),
        ("smtp://mx:99999", "port must be a number in 1..65535"),
        ("smtp://mx?tls=1", "unknown option 'tls' (known: starttls, timeout)"),
        ("smtp://mx?starttls=maybe", "starttls must be 1 or 0"),
        ("smtps://mx?starttls=1", "smtps:// is TLS already; starttls=1 is for smtp://"),
        ("smtp://mx?timeout=0", "timeout must be within 1..600 seconds"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_smtp_url(url)
    assert str(caught.value) == message


def test_settings_name_the_variable() -> None:
    env = {"BECKON_SECRET_KEY": TEST_SECRET, "BECKON_DATABASE_URL": "sqlite+aiosqlite://"}
    with pytest.raises(SettingsError) as caught:
        load_settings({**env, "BECKON_SMTP_URL": "smtp://mx?starttls=2"})
    assert str(caught.value) == "BECKON_SMTP_URL: starttls must be 1 or 0"
    with pytest.raises(SettingsError) as caught:
        load_settings({**env, "BECKON_SMTP_URL": "smtp://mx"})
    assert str(caught.value) == "BECKON_MAIL_FROM: required when BECKON_SMTP_URL is set"
    with pytest.raises(SettingsError) as caught:
        load_settings({**env, "BECKON_MAIL_FROM": "a@b.test, c@d.test"})
    assert str(caught.value) == (
        "BECKON_MAIL_FROM: must be one plain address such as help@example.com"
    )
    ok = load_settings({**env, "BECKON_SMTP_URL": "smtp://mx", "BECKON_MAIL_FROM": "h@shop.test"})
    assert (ok.smtp_url, ok.mail_from) == ("smtp://mx", "h@shop.test")
