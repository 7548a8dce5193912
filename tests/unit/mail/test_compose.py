"""Emails built from literal values: localized, escaped, multipart, threaded."""

from __future__ import annotations

import email
import email.policy

import pytest

from server.mail.addresses import BadAddress
from server.mail.compose import Letter, Line, build
from server.mail.i18n import LANGUAGES, STRINGS, language

BASE = {
    "kind": "reply",
    "lang": "en",
    "site_name": "Shop",
    "sender": "help@shop.test",
    "recipient": "eve@example.com",
    "recipient_name": "Eve",
    "message_id": "<ml_1.cv_1@shop.test>",
    "date_ms": 1_700_000_000_000,
    "agent_name": "Ana",
    "text": "Your order ships today.",
    "history": [Line("You", "Where is my order?", 1_699_999_000_000)],
    "reply_to": "reply+cv_1.0123456789abcdef0123@shop.test",
    "in_reply_to": "<c.cv_1.0123456789abcdef0123@shop.test>",
    "references": ["<c.cv_1.0123456789abcdef0123@shop.test>"],
}


def parsed(**changes: object) -> email.message.EmailMessage:
    raw = build(Letter(**{**BASE, **changes})).as_bytes()  # type: ignore[arg-type]
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_reply_is_multipart_text_and_html_with_threading_headers() -> None:
    msg = parsed()
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == "Your conversation with Shop"
    assert msg["From"] == "Shop <help@shop.test>"
    assert msg["To"] == "Eve <eve@example.com>"
    assert msg["Message-ID"] == "<ml_1.cv_1@shop.test>"
    assert msg["In-Reply-To"] == "<c.cv_1.0123456789abcdef0123@shop.test>"
    assert msg["References"] == "<c.cv_1.0123456789abcdef0123@shop.test>"
    assert msg["Reply-To"] == "Shop <reply+cv_1.0123456789abcdef0123@shop.test>"
    assert msg["Content-Language"] == "en"
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == (
        "Ana from Shop replied:\n\nYour order ships today.\n\n"
        "You can answer by replying to this email.\n\n"
        "-- Earlier in this conversation --\n\n"
        "> You (2023-11-14 21:56 UTC):\n> Where is my order?\n>\n"
    )
    assert "Your order ships today." in msg.get_body(("html",)).get_content()


def test_every_supplied_string_is_escaped_in_html() -> None:
    msg = parsed(
        site_name="<b>Shop</b>",
        agent_name="<img src=x onerror=alert(1)>",
        text="<script>alert(1)</script>",
        history=[Line("<i>You</i>", "a & b <a href=x>", 1)],
    )
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "<img" not in html and "<b>Shop" not in html
    assert "<a href=x>" not in html and "<i>You</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &amp; b &lt;a href=x&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_header_injection_in_the_visitors_name_is_neutralized() -> None:
    msg = parsed(recipient_name="Eve\r\nBcc: evil@evil.test\r\n\r\nbody", site_name="S\nX-A: 1")
    assert msg["Bcc"] is None and msg["X-A"] is None
    assert msg["To"].addresses[0].addr_spec == "eve@example.com"
    assert msg["To"].addresses[0].display_name == "Eve Bcc: evil@evil.test body"
    assert len(msg["To"].addresses) == 1


def test_a_bad_recipient_builds_nothing() -> None:
    with pytest.raises(BadAddress):
        build(Letter(**{**BASE, "recipient": "eve@example.com\r\nBcc: x@evil.test"}))  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_string(lang: str) -> None:
    assert set(STRINGS[lang]) == set(STRINGS["en"])
    msg = parsed(lang=lang)
    assert msg["Subject"] == STRINGS[lang]["reply_subject"].replace("{site}", "Shop")
    assert msg["Content-Language"] == lang
    assert STRINGS[lang]["reply_hint"] in msg.get_body(("plain",)).get_content()


def test_language_tags_fall_back() -> None:
    assert language("de-AT") == "de"
    assert language("pt-BR", "fr") == "fr"
    assert language(None, "xx") == "en"


def test_transcript_lists_the_whole_conversation() -> None:
    msg = parsed(
        kind="transcript",
        lang="fr",
        text="",
        history=[Line("Vous", "Bonjour", 1), Line("Ana", "Bonjour !", 2)],
    )
    assert msg["Subject"] == "Transcription de votre chat avec Shop"
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Vous (1970-01-01 00:00 UTC):\nBonjour\n" in text
    assert "Ana (1970-01-01 00:00 UTC):\nBonjour !\n" in text
