"""DKIM signing with BECKON_MAIL_DKIM_KEY_FILE: a signature that verifies against the
public key, and clear errors for a missing or wrong key file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dkim
import pytest

from server.mail.compose import Letter, build
from server.mail.sender import MailConfig, dkim_signed
from server.settings import SettingsError, load_settings
from tests.beckon_process import TEST_SECRET

ENV = {
    "BECKON_SECRET_KEY": TEST_SECRET,
    "BECKON_DATABASE_URL": "sqlite+aiosqlite://",
    "BECKON_SMTP_URL": "smtp://127.0.0.1:2525",
    "BECKON_MAIL_FROM": "help@shop.test",
    "BECKON_MAIL_DKIM_SELECTOR": "s1",
}


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    directory = tmp_path_factory.mktemp("dkim")
    private = directory / "dkim.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return private, public


def message() -> bytes:
    letter = Letter(
        kind="reply",
        lang="en",
        site_name="Shop",
        sender="help@shop.test",
        recipient="eve@example.com",
        recipient_name="Eve",
        message_id="<ml_1.cv_1@shop.test>",
        date_ms=1_700_000_000_000,
        agent_name="Ana",
        text="hello",
    )
    return build(letter).as_bytes()


def test_signed_message_verifies(key_pair: tuple[Path, bytes]) -> None:
    import base64

    private, public = key_pair
    config = MailConfig.from_settings(
        load_settings({**ENV, "BECKON_MAIL_DKIM_KEY_FILE": str(private)}), env={}
    )
    signed = dkim_signed(message(), config)
    assert signed.startswith(b"DKIM-Signature: ")
    assert b"d=shop.test" in signed and b"s=s1" in signed
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s1._domainkey.shop.test."
        return record

    assert dkim.verify(signed, dnsfunc=dns) is True
    tampered = signed.replace(b"hello", b"hellO")
    assert dkim.verify(tampered, dnsfunc=dns) is False


def test_unsigned_without_a_key() -> None:
    config = MailConfig.from_settings(load_settings(ENV), env={})
    assert dkim_signed(b"x", config) == b"x"


def test_bad_key_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        MailConfig.from_settings(
            load_settings({**ENV, "BECKON_MAIL_DKIM_KEY_FILE": str(tmp_path / "none.pem")}), env={}
        )
    assert str(caught.value) == "BECKON_MAIL_DKIM_KEY_FILE: No such file or directory"
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(SettingsError) as caught:
        MailConfig.from_settings(
            load_settings({**ENV, "BECKON_MAIL_DKIM_KEY_FILE": str(tmp_path / "junk.pem")}), env={}
        )
    assert str(caught.value) == "BECKON_MAIL_DKIM_KEY_FILE: not a PEM private key"
    with pytest.raises(SettingsError) as caught:
        MailConfig.from_settings(load_settings(ENV), env={"BECKON_MAIL_POLL_S": "x"})
    assert str(caught.value) == "BECKON_MAIL_POLL_S: expected a number, got 'x'"
