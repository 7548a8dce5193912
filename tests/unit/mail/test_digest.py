"""The inbox digest an agent gets: counts per site, never a visitor's words; escaped;
localized; a plain-text part."""

from __future__ import annotations

import pytest

from server.mail.addresses import BadAddress
from server.mail.digest import Digest, Entry, build_digest
from server.mail.i18n import LANGUAGES


def digest(**changes: object) -> Digest:
    values: dict = {
        "lang": "en",
        "sender": "help@shop.test",
        "recipient": "ana@shop.test",
        "recipient_name": "Ana\r\nBcc: x@evil.test",
        "entries": [Entry("Shop <b>", 2), Entry("Blog", 1)],
        "total": 3,
        "link": "https://chat.example.com/agent/#inbox",
        "message_id": "<ml_1.inbox@shop.test>",
        "date_ms": 1_700_000_000_000,
    }
    return Digest(**{**values, **changes})


def test_counts_per_site_with_the_link() -> None:
    msg = build_digest(digest())
    assert msg["Subject"] == "New in your inbox: 3"
    assert msg["To"] == '"Ana Bcc: x@evil.test" <ana@shop.test>'  # one header, one recipient
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",)).get_content()
    assert "- Shop <b>: 2\n- Blog: 1\n" in text
    assert "https://chat.example.com/agent/#inbox" in text
    page = msg.get_body(("html",)).get_content()
    assert "<li>Shop &lt;b&gt;: 2</li>" in page and "<b>" not in page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language(lang: str) -> None:
    msg = build_digest(digest(lang=lang))
    assert msg["Content-Language"] == lang
    assert "3" in msg["Subject"] and "{count}" not in msg["Subject"]


def test_a_bad_recipient_is_refused() -> None:
    with pytest.raises(BadAddress):
        build_digest(digest(recipient="a@b.test, c@d.test"))
