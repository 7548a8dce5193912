"""Reading replies: literal email in → sender, conversation and trimmed text out."""

from __future__ import annotations

import pytest

from server.mail import addresses, inbound
from server.mail.incoming import sign, signature_ok

SECRET = "k" * 40
REPLY_TO = addresses.reply_address(SECRET, "cv_abc123", "shop.test")
ROOT = addresses.thread_root(SECRET, "cv_abc123", "shop.test")


def raw(headers: str, body: str) -> bytes:
    return (headers.strip() + "\r\n\r\n" + body).replace("\n", "\r\n").encode()


def test_reply_by_address_trimmed_of_quote_and_signature() -> None:
    mail = inbound.parse(
        raw(
            f"From: Eve <EVE@example.com>\nTo: {REPLY_TO}\nSubject: Re: x\nMessage-ID: <1@x>",
            "Thanks, that works!\nSee you.\n\n-- \nEve\n\n"
            "On Mon, 7 Dec 2026 at 09:00, Shop <help@shop.test> wrote:\n> Hi Eve\n",
        )
    )
    assert mail.sender == "eve@example.com"
    assert inbound.conversation_of(SECRET, mail) == "cv_abc123"
    assert inbound.trim(mail.text) == "Thanks, that works!\nSee you."


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("Danke!\n\nAm 07.12.2026 um 09:00 schrieb Shop <help@shop.test>:\n> x", "Danke!"),
        ("Merci\nLe lun. 7 déc. 2026, Shop a écrit :\n> x", "Merci"),
        ("Gracias\nEl lun, 7 dic 2026, Shop escribió:\n> x", "Gracias"),
        ("Grazie\nIl giorno lun 7 dic 2026 Shop ha scritto:\n> x", "Grazie"),
        ("Hvala\nShop <help@shop.test> je napisao:\n> x", "Hvala"),
        ("ok\n-----Original Message-----\nFrom: Shop", "ok"),
        ("yes\n\nSent from my phone", "yes"),
        ("> only a quote", ""),
    ],
)
def test_trim_in_many_clients_and_languages(body: str, kept: str) -> None:
    assert inbound.trim(body) == kept


def test_matched_by_signed_thread_root_when_the_address_is_lost() -> None:
    mail = inbound.parse(
        raw(f"From: eve@example.com\nTo: help@shop.test\nReferences: <a@b> {ROOT}", "hi")
    )
    assert inbound.conversation_of(SECRET, mail) == "cv_abc123"


def test_unsigned_or_forged_is_unmatched() -> None:
    forged = REPLY_TO.replace("cv_abc123", "cv_zzz999")
    for headers in (
        "From: eve@example.com\nTo: help@shop.test",
        f"From: eve@example.com\nTo: {forged}",
        "From: eve@example.com\nTo: reply+cv_abc123@shop.test\nReferences: <c.cv_abc123@shop.test>",
    ):
        assert inbound.conversation_of(SECRET, inbound.parse(raw(headers, "hi"))) is None


def test_html_only_reply_is_read_as_text() -> None:
    mail = inbound.parse(
        raw(
            f"From: eve@example.com\nTo: {REPLY_TO}\nContent-Type: text/html",
            "<p>Yes <b>please</b></p><blockquote>old</blockquote><script>x()</script>",
        )
    )
    assert inbound.trim(mail.text) == "Yes please"


def test_no_from_is_not_an_email() -> None:
    with pytest.raises(inbound.NotAnEmail):
        inbound.parse(b"just some bytes")


def test_signature_check() -> None:
    key, body = b"key", b"raw email"
    header = sign(key, body, 1_000_000)
    assert signature_ok(key, body, header, now=1_000_100)
    assert not signature_ok(key, body + b"x", header, now=1_000_100)
    assert not signature_ok(b"other", body, header, now=1_000_100)
    assert not signature_ok(key, body, header, now=1_000_400)  # older than 5 minutes
    assert not signature_ok(key, body, "", now=1_000_100)
    assert not signature_ok(key, body, "t=x,v1=y", now=1_000_100)
