"""Rows → wire frames: the visitor brief that conversation frames carry for the console."""

from __future__ import annotations

from invitations import VisitorFacts
from server.chat.payloads import conversation_frame, visitor_brief

FULL = VisitorFacts(
    "vi_1",
    page_url="https://shop.example.com/cart?step=2",
    page_path="/cart",
    page_title="Your cart",
    page_started=1_800_000_000.0,
    lang_tag="pt-br",
    identified=True,
    name="Ann from facts",
    email="ann@example.com",
    cart_value=129.5,
    cart_currency="EUR",
    cart_items=3,
    device="desktop",
    visits=4,
)


def test_brief_of_a_known_visitor() -> None:
    stored = {"name": "Ann", "user_id": "u42"}
    assert visitor_brief("vi_1", FULL, stored) == {
        "id": "vi_1",
        "name": "Ann",
        "identified": True,
        "page": {"url": "https://shop.example.com/cart?step=2", "title": "Your cart"},
        "cart": {"value": 129.5, "currency": "EUR", "items": 3},
        "lang": "pt-br",
    }


def test_brief_leaves_out_what_is_unknown() -> None:
    assert visitor_brief("vi_2", None, None) == {"id": "vi_2"}
    assert visitor_brief("vi_2", VisitorFacts("vi_2"), {"name": None, "user_id": None}) == {
        "id": "vi_2"
    }
    bare = VisitorFacts("vi_3", page_url="https://shop.example.com/", cart_value=0.0)
    assert visitor_brief("vi_3", bare, None) == {
        "id": "vi_3",
        "page": {"url": "https://shop.example.com/"},
        "cart": {"value": 0.0, "currency": None},
    }


def test_brief_name_sources_and_identified_flag() -> None:
    # A name from the pre-chat form (Store row, no user_id) is shown, not "identified".
    prechat = visitor_brief("vi_4", VisitorFacts("vi_4"), {"name": "Zoë", "user_id": None})
    assert prechat == {"id": "vi_4", "name": "Zoë"}
    # With no Store row yet, the facts' name (the `name` attribute) is used.
    attribute = visitor_brief("vi_5", VisitorFacts("vi_5", name="Bo"), None)
    assert attribute == {"id": "vi_5", "name": "Bo"}
    # Verified identity without a name: identified, still no name.
    verified = visitor_brief("vi_6", VisitorFacts("vi_6", identified=True), None)
    assert verified == {"id": "vi_6", "identified": True}


def test_conversation_frame_carries_the_brief_as_given() -> None:
    row = {
        "id": "cv_1",
        "status": "queued",
        "site_id": "st_1",
        "visitor_id": "vi_4",
        "department": None,
        "last_seq": 1,
        "created_ts": 1_800_000_000_000,
        "transfers": 0,
    }
    frame = conversation_frame(row, visitor={"id": "vi_4", "name": "Zoë"})
    assert frame == {
        "type": "conversation",
        "id": "cv_1",
        "status": "queued",
        "site_id": "st_1",
        "visitor_id": "vi_4",
        "department": None,
        "last_seq": 1,
        "created_ts": 1_800_000_000_000,
        "version": 0,
        "visitor": {"id": "vi_4", "name": "Zoë"},
    }
