"""Recipients, display names and signed reply addresses: literal in → literal out."""

from __future__ import annotations

import pytest

from server.mail import addresses

SECRET = "k" * 40


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "no-at-sign",
        "a@b",  # no dot in the domain
        "a b@shop.test",
        "a@shop.test, b@evil.test",
        "a@shop.test\r\nBcc: b@evil.test",
        "<a@shop.test>",
        '"a"@shop.test',
        "a..b@shop.test",
        "a@" + "x" * 260 + ".test",
    ],
)
def test_a_recipient_is_one_plain_address(value: str | None) -> None:
    with pytest.raises(addresses.BadAddress):
        addresses.recipient(value)


def test_plain_addresses_pass() -> None:
    assert addresses.recipient("eve.o'neil+shop@mail.example.com") == (
        "eve.o'neil+shop@mail.example.com"
    )


def test_display_names_lose_line_breaks_and_are_cut() -> None:
    assert addresses.display_name("Eve\r\nBcc: evil@x.test") == "Eve Bcc: evil@x.test"
    assert addresses.display_name("a\u2028b\x00c") == "a b c"
    assert addresses.display_name("x" * 300) == "x" * 100
    assert addresses.display_name(None) == ""


def test_reply_address_round_trip_and_forgery() -> None:
    address = addresses.reply_address(SECRET, "cv_AbC123", "shop.test")
    assert address.startswith("reply+cv_AbC123.") and address.endswith("@shop.test")
    assert addresses.conversation_of_address(SECRET, address) == "cv_AbC123"
    assert addresses.conversation_of_address(SECRET, f"<{address}>") == "cv_AbC123"
    forged = address.replace("cv_AbC123", "cv_Other1")
    assert addresses.conversation_of_address(SECRET, forged) is None
    assert addresses.conversation_of_address("z" * 40, address) is None
    assert addresses.conversation_of_address(SECRET, "reply+cv_AbC123@shop.test") is None


def test_thread_root_found_in_references_only_when_signed() -> None:
    root = addresses.thread_root(SECRET, "cv_1abc", "shop.test")
    refs = [f"<other@x.test> {root}"]
    assert addresses.conversation_of_references(SECRET, refs) == "cv_1abc"
    assert addresses.conversation_of_references(SECRET, ["<c.cv_1abc.0000@shop.test>"]) is None
    assert addresses.conversation_of_references("z" * 40, refs) is None
