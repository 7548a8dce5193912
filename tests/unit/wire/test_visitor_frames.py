"""server/wire/frames.py, visitor socket: a frame dict in, an exact model or error out."""

from __future__ import annotations

from typing import Any

import pytest

from server.wire.codec import decode_frame
from server.wire.errors import FrameError
from server.wire.frames import (
    VISITOR_FRAMES,
    VisitorAttributes,
    VisitorCart,
    VisitorChatStart,
    VisitorClose,
    VisitorFollowUpRead,
    VisitorHello,
    VisitorInvitationAccept,
    VisitorInvitationDismiss,
    VisitorInvitationShown,
    VisitorMessage,
    VisitorOfflineMessage,
    VisitorPageView,
    VisitorPing,
    VisitorRead,
    VisitorResume,
    VisitorSurvey,
    VisitorTrack,
    VisitorTranscriptRequest,
    VisitorTyping,
    parse_visitor_frame,
)

HASH = "ab" * 32
URL = "https://shop.example.com/cart?x=1"

VALID: list[tuple[dict[str, Any], type, dict[str, Any]]] = [
    (
        {"type": "hello", "page": {"url": URL}},
        VisitorHello,
        {
            "ref": None,
            "type": "hello",
            "visitor_token": None,
            "page": {"url": URL, "title": None, "referrer": None},
            "lang": None,
            "tz": None,
            "identity": None,
            "attributes": None,
            "conversation": None,
        },
    ),
    (
        {
            "type": "hello",
            "ref": "h1",
            "visitor_token": "vt_1",
            "page": {"url": "http://localhost:8000/", "title": "Cart", "referrer": ""},
            "lang": "pt-BR",
            "tz": "America/Argentina/Buenos_Aires",
            "identity": {
                "user_id": "u42",
                "user_hash": HASH.upper(),
                "name": "Ann",
                "email": "ann@example.com",
            },
            "attributes": {"plan": "pro", "seats": 3, "ltv": 9.5, "vip": True, "note": None},
            "conversation": {"id": "cv_1", "after_seq": 12},
        },
        VisitorHello,
        {
            "ref": "h1",
            "type": "hello",
            "visitor_token": "vt_1",
            "page": {"url": "http://localhost:8000/", "title": "Cart", "referrer": ""},
            "lang": "pt-BR",
            "tz": "America/Argentina/Buenos_Aires",
            "identity": {
                "user_id": "u42",
                "user_hash": HASH,
                "name": "Ann",
                "email": "ann@example.com",
            },
            "attributes": {"plan": "pro", "seats": 3, "ltv": 9.5, "vip": True, "note": None},
            "conversation": {"id": "cv_1", "after_seq": 12},
        },
    ),
    (
        {"type": "page_view", "url": URL, "title": "Cart"},
        VisitorPageView,
        {"ref": None, "type": "page_view", "url": URL, "title": "Cart", "referrer": None},
    ),
    (
        {"type": "track", "event": "signup_clicked", "props": {"plan": "pro", "tags": ["a", 1]}},
        VisitorTrack,
        {
            "ref": None,
            "type": "track",
            "event": "signup_clicked",
            "props": {"plan": "pro", "tags": ["a", 1]},
        },
    ),
    (
        {"type": "track", "event": "scroll", "props": {"depth": 75}},
        VisitorTrack,
        {"ref": None, "type": "track", "event": "scroll", "props": {"depth": 75}},
    ),
    (
        {"type": "track", "event": "rage_click", "props": {"clicks": 4}},
        VisitorTrack,
        {"ref": None, "type": "track", "event": "rage_click", "props": {"clicks": 4}},
    ),
    (
        {"type": "track", "event": "error_page", "props": {"status": 404}},
        VisitorTrack,
        {"ref": None, "type": "track", "event": "error_page", "props": {"status": 404}},
    ),
    (
        {"type": "track", "event": "long_wait", "props": {"wait_s": 61.5}},
        VisitorTrack,
        {"ref": None, "type": "track", "event": "long_wait", "props": {"wait_s": 61.5}},
    ),
    (
        {"type": "track", "event": "page_loop"},
        VisitorTrack,
        {"ref": None, "type": "track", "event": "page_loop", "props": None},
    ),
    (
        {
            "type": "track",
            "event": "conversion",
            "props": {"value": 49.9, "currency": "EUR", "order_id": "o-1"},
        },
        VisitorTrack,
        {
            "ref": None,
            "type": "track",
            "event": "conversion",
            "props": {"value": 49.9, "currency": "EUR", "order_id": "o-1"},
        },
    ),
    (
        {"type": "track", "event": "exit_intent"},
        VisitorTrack,
        {"ref": None, "type": "track", "event": "exit_intent", "props": None},
    ),
    (
        {"type": "cart", "value": 120, "currency": "USD", "items": 3},
        VisitorCart,
        {"ref": None, "type": "cart", "value": 120.0, "currency": "USD", "items": 3},
    ),
    (
        {"type": "cart", "value": 0, "currency": "JPY"},
        VisitorCart,
        {"ref": None, "type": "cart", "value": 0.0, "currency": "JPY", "items": None},
    ),
    (
        {
            "type": "attributes",
            "ref": "a1",
            "name": "Ann",
            "email": "ann@example.com",
            "plan": "pro",
        },
        VisitorAttributes,
        {
            "ref": "a1",
            "type": "attributes",
            "attributes": {"name": "Ann", "email": "ann@example.com", "plan": "pro"},
        },
    ),
    (
        {"type": "chat_start"},
        VisitorChatStart,
        {"ref": None, "type": "chat_start", "text": None, "client_msg_id": None, "prechat": None},
    ),
    (
        {
            "type": "chat_start",
            "text": " Hi! \n",
            "prechat": {"name": "Ann", "email": "a@b.io", "department": "sales"},
        },
        VisitorChatStart,
        {
            "ref": None,
            "type": "chat_start",
            "text": "Hi!",
            "client_msg_id": None,
            "prechat": {"name": "Ann", "email": "a@b.io", "department": "sales", "fields": None},
        },
    ),
    (
        {
            "type": "chat_start",
            "prechat": {"fields": {"phone": "+385 1 234", "consent": "true"}},
        },
        VisitorChatStart,
        {
            "ref": None,
            "type": "chat_start",
            "text": None,
            "client_msg_id": None,
            "prechat": {
                "name": None,
                "email": None,
                "department": None,
                "fields": {"phone": "+385 1 234", "consent": "true"},
            },
        },
    ),
    (
        {
            "type": "message",
            "ref": "c7",
            "conversation_id": "cv_1",
            "client_msg_id": "m1",
            "text": "  hello  world \t",
        },
        VisitorMessage,
        {
            "ref": "c7",
            "type": "message",
            "conversation_id": "cv_1",
            "client_msg_id": "m1",
            "text": "hello  world",
            "attachments": [],
        },
    ),
    (
        {
            "type": "message",
            "conversation_id": "cv_1",
            "client_msg_id": "m" * 64,
            "text": " " + "é" * 4000 + " ",
        },
        VisitorMessage,
        {
            "ref": None,
            "type": "message",
            "conversation_id": "cv_1",
            "client_msg_id": "m" * 64,
            "text": "é" * 4000,
            "attachments": [],
        },
    ),
    (
        {"type": "typing", "conversation_id": "cv_1", "on": False},
        VisitorTyping,
        {"ref": None, "type": "typing", "conversation_id": "cv_1", "on": False},
    ),
    (
        {"type": "read", "conversation_id": "cv_1", "seq": 0},
        VisitorRead,
        {"ref": None, "type": "read", "conversation_id": "cv_1", "seq": 0},
    ),
    (
        {"type": "follow_up_read", "conversation_id": "cv_1", "seq": 3},
        VisitorFollowUpRead,
        {"ref": None, "type": "follow_up_read", "conversation_id": "cv_1", "seq": 3},
    ),
    (
        {"type": "resume", "conversation_id": "cv_1", "after_seq": 41},
        VisitorResume,
        {"ref": None, "type": "resume", "conversation_id": "cv_1", "after_seq": 41},
    ),
    (
        {"type": "invitation_shown", "invitation_id": "in_1"},
        VisitorInvitationShown,
        {"ref": None, "type": "invitation_shown", "invitation_id": "in_1"},
    ),
    (
        {
            "type": "invitation_accept",
            "invitation_id": "in_1",
            "text": "yes please",
            "client_msg_id": "c-1",
        },
        VisitorInvitationAccept,
        {
            "ref": None,
            "type": "invitation_accept",
            "invitation_id": "in_1",
            "text": "yes please",
            "client_msg_id": "c-1",
        },
    ),
    (
        {"type": "invitation_dismiss", "invitation_id": "in_1"},
        VisitorInvitationDismiss,
        {"ref": None, "type": "invitation_dismiss", "invitation_id": "in_1"},
    ),
    (
        {
            "type": "survey",
            "conversation_id": "cv_1",
            "kind": "csat",
            "score": 5,
            "comment": "great",
        },
        VisitorSurvey,
        {
            "ref": None,
            "type": "survey",
            "conversation_id": "cv_1",
            "kind": "csat",
            "score": 5,
            "comment": "great",
        },
    ),
    (
        {"type": "survey", "conversation_id": "cv_1", "kind": "nps", "score": 0},
        VisitorSurvey,
        {
            "ref": None,
            "type": "survey",
            "conversation_id": "cv_1",
            "kind": "nps",
            "score": 0,
            "comment": None,
        },
    ),
    (
        {"type": "survey", "conversation_id": "cv_1", "kind": "ces", "score": 7},
        VisitorSurvey,
        {
            "ref": None,
            "type": "survey",
            "conversation_id": "cv_1",
            "kind": "ces",
            "score": 7,
            "comment": None,
        },
    ),
    (
        {"type": "offline_message", "email": "ann@example.com", "text": "call me"},
        VisitorOfflineMessage,
        {
            "ref": None,
            "type": "offline_message",
            "name": None,
            "email": "ann@example.com",
            "text": "call me",
        },
    ),
    (
        {"type": "transcript_request", "conversation_id": "cv_1", "ref": "t"},
        VisitorTranscriptRequest,
        {"ref": "t", "type": "transcript_request", "conversation_id": "cv_1"},
    ),
    (
        {"type": "close", "conversation_id": "cv_1"},
        VisitorClose,
        {"ref": None, "type": "close", "conversation_id": "cv_1"},
    ),
    ({"type": "ping", "ref": "p"}, VisitorPing, {"ref": "p", "type": "ping"}),
]


@pytest.mark.parametrize(
    ("frame", "model", "expected"), VALID, ids=[row[0]["type"] for row in VALID]
)
def test_valid_visitor_frames(frame: dict[str, Any], model: type, expected: dict[str, Any]) -> None:
    parsed = parse_visitor_frame(frame)
    assert type(parsed) is model
    assert parsed.model_dump() == expected


def test_every_visitor_type_has_a_valid_example() -> None:
    assert {row[0]["type"] for row in VALID} == set(VISITOR_FRAMES)


def test_models_are_frozen() -> None:
    parsed = parse_visitor_frame({"type": "close", "conversation_id": "cv_1"})
    with pytest.raises(ValueError, match="frozen"):
        parsed.conversation_id = "cv_2"  # type: ignore[misc]


def test_decode_then_parse_carries_ref_end_to_end() -> None:
    raw = b'{"type":"message","ref":"c7","conversation_id":"cv_1","client_msg_id":"m1"}'
    with pytest.raises(FrameError) as caught:
        parse_visitor_frame(decode_frame(raw))
    assert (caught.value.code, caught.value.message, caught.value.ref) == (
        "invalid_frame",
        "field 'text' is required",
        "c7",
    )
