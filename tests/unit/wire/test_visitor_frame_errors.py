"""server/wire/frames.py, visitor socket: hostile or malformed frames -> exact errors.

Every row carries `ref: "r1"`; the error must carry it back unless the ref itself is
the problem.
"""

from __future__ import annotations

from typing import Any

import pytest

from server.wire.errors import FrameError
from server.wire.frames import parse_visitor_frame

HASH = "ab" * 32
URL = "https://shop.example.com/cart?x=1"

MSG = {
    "type": "message",
    "ref": "r1",
    "conversation_id": "cv_1",
    "client_msg_id": "m1",
    "text": "hi",
}
SURVEY = {"type": "survey", "ref": "r1", "conversation_id": "cv_1"}
HELLO = {"type": "hello", "ref": "r1", "page": {"url": URL}}
CART = {"type": "cart", "ref": "r1", "value": 10, "currency": "EUR"}
TRACK = {"type": "track", "ref": "r1"}


def without(frame: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in frame.items() if k != key}


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown type", {"type": "xyz", "ref": "r1"}, "unknown_type", "unknown frame type 'xyz'"),
    (
        "agent-only type",
        {"type": "accept", "ref": "r1", "conversation_id": "c"},
        "unknown_type",
        "unknown frame type 'accept'",
    ),
    (
        "long unknown type",
        {"type": "x" * 100, "ref": "r1"},
        "unknown_type",
        f"unknown frame type '{'x' * 64}…'",
    ),
    ("missing type", {"ref": "r1"}, "invalid_frame", "field 'type' is required"),
    ("non-string type", {"type": 3, "ref": "r1"}, "invalid_frame", "field 'type' must be a string"),
    ("null type", {"type": None, "ref": "r1"}, "invalid_frame", "field 'type' must be a string"),
    ("missing text", without(MSG, "text"), "invalid_frame", "field 'text' is required"),
    (
        "missing conversation_id",
        without(MSG, "conversation_id"),
        "invalid_frame",
        "field 'conversation_id' is required",
    ),
    ("extra field", {**MSG, "colour": "red"}, "invalid_frame", "unknown field 'colour'"),
    (
        "nested extra field",
        {**HELLO, "page": {"url": URL, "colour": 1}},
        "invalid_frame",
        "unknown field 'page.colour'",
    ),
    (
        "text 4001 chars",
        {**MSG, "text": "x" * 4001},
        "invalid_frame",
        "field 'text' must be at most 4000 characters",
    ),
    (
        "text whitespace only",
        {**MSG, "text": " \n\t "},
        "invalid_frame",
        "field 'text' must not be empty",
    ),
    ("text empty", {**MSG, "text": ""}, "invalid_frame", "field 'text' must not be empty"),
    ("text number", {**MSG, "text": 5}, "invalid_frame", "field 'text' must be a string"),
    (
        "client_msg_id 65",
        {**MSG, "client_msg_id": "m" * 65},
        "invalid_frame",
        "field 'client_msg_id' must be at most 64 characters",
    ),
    (
        "conversation_id empty",
        {**MSG, "conversation_id": ""},
        "invalid_frame",
        "field 'conversation_id' must not be empty",
    ),
    (
        "conversation_id 65",
        {**MSG, "conversation_id": "c" * 65},
        "invalid_frame",
        "field 'conversation_id' must be at most 64 characters",
    ),
    (
        "ref 65 chars",
        {**MSG, "ref": "r" * 65},
        "invalid_frame",
        "field 'ref' must be a string of at most 64 characters",
    ),
    (
        "ref non-string",
        {**MSG, "ref": 7},
        "invalid_frame",
        "field 'ref' must be a string of at most 64 characters",
    ),
    (
        "string for int",
        {"type": "read", "ref": "r1", "conversation_id": "c", "seq": "5"},
        "invalid_frame",
        "field 'seq' must be an integer >= 0",
    ),
    (
        "float for int",
        {"type": "read", "ref": "r1", "conversation_id": "c", "seq": 5.0},
        "invalid_frame",
        "field 'seq' must be an integer >= 0",
    ),
    (
        "bool for int",
        {"type": "read", "ref": "r1", "conversation_id": "c", "seq": True},
        "invalid_frame",
        "field 'seq' must be an integer >= 0",
    ),
    (
        "negative seq",
        {"type": "resume", "ref": "r1", "conversation_id": "c", "after_seq": -1},
        "invalid_frame",
        "field 'after_seq' must be an integer >= 0",
    ),
    (
        "int for bool",
        {"type": "typing", "ref": "r1", "conversation_id": "c", "on": 1},
        "invalid_frame",
        "field 'on' must be a boolean",
    ),
    (
        "string for bool",
        {"type": "typing", "ref": "r1", "conversation_id": "c", "on": "true"},
        "invalid_frame",
        "field 'on' must be a boolean",
    ),
    (
        "survey score string",
        {**SURVEY, "kind": "csat", "score": "5"},
        "invalid_frame",
        "field 'score' must be an integer",
    ),
    (
        "csat 0",
        {**SURVEY, "kind": "csat", "score": 0},
        "invalid_frame",
        "field 'score' must be from 1 to 5 for csat",
    ),
    (
        "csat 6",
        {**SURVEY, "kind": "csat", "score": 6},
        "invalid_frame",
        "field 'score' must be from 1 to 5 for csat",
    ),
    (
        "nps -1",
        {**SURVEY, "kind": "nps", "score": -1},
        "invalid_frame",
        "field 'score' must be from 0 to 10 for nps",
    ),
    (
        "nps 11",
        {**SURVEY, "kind": "nps", "score": 11},
        "invalid_frame",
        "field 'score' must be from 0 to 10 for nps",
    ),
    (
        "ces 0",
        {**SURVEY, "kind": "ces", "score": 0},
        "invalid_frame",
        "field 'score' must be from 1 to 7 for ces",
    ),
    (
        "ces 8",
        {**SURVEY, "kind": "ces", "score": 8},
        "invalid_frame",
        "field 'score' must be from 1 to 7 for ces",
    ),
    (
        "survey kind",
        {**SURVEY, "kind": "stars", "score": 3},
        "invalid_frame",
        "field 'kind' must be 'csat', 'nps', 'ces' or 'thumbs'",
    ),
    (
        "prechat answer not text",
        {"type": "chat_start", "ref": "r1", "prechat": {"fields": {"phone": 5}}},
        "invalid_frame",
        "field 'prechat.fields.phone' must be a string",
    ),
    (
        "prechat answer too long",
        {"type": "chat_start", "ref": "r1", "prechat": {"fields": {"x": "a" * 1001}}},
        "invalid_frame",
        "field 'prechat.fields.x' must be at most 1000 characters",
    ),
    (
        "prechat too many answers",
        {
            "type": "chat_start",
            "ref": "r1",
            "prechat": {"fields": {str(i): "a" for i in range(21)}},
        },
        "invalid_frame",
        "field 'prechat.fields' must have at most 20 items",
    ),
    (
        "survey comment",
        {**SURVEY, "kind": "nps", "score": 3, "comment": "c" * 2001},
        "invalid_frame",
        "field 'comment' must be at most 2000 characters",
    ),
    (
        "cart negative",
        {**CART, "value": -0.01},
        "invalid_frame",
        "field 'value' must be a finite number >= 0",
    ),
    (
        "cart string value",
        {**CART, "value": "10"},
        "invalid_frame",
        "field 'value' must be a finite number >= 0",
    ),
    (
        "cart currency",
        {**CART, "currency": "eur"},
        "invalid_frame",
        "field 'currency' must be an ISO 4217 currency code",
    ),
    (
        "cart items float",
        {**CART, "items": 1.5},
        "invalid_frame",
        "field 'items' must be an integer >= 0",
    ),
    ("hello missing page", without(HELLO, "page"), "invalid_frame", "field 'page' is required"),
    (
        "hello page string",
        {**HELLO, "page": URL},
        "invalid_frame",
        "field 'page' must be an object",
    ),
    (
        "page.url ftp",
        {**HELLO, "page": {"url": "ftp://x.com/"}},
        "invalid_frame",
        "field 'page.url' must be an http(s) URL",
    ),
    (
        "page.url javascript",
        {**HELLO, "page": {"url": "javascript:alert(1)"}},
        "invalid_frame",
        "field 'page.url' must be an http(s) URL",
    ),
    (
        "page.url no host",
        {**HELLO, "page": {"url": "https:///path"}},
        "invalid_frame",
        "field 'page.url' must be an http(s) URL",
    ),
    (
        "page.url newline",
        {**HELLO, "page": {"url": "https://a.com/\nx"}},
        "invalid_frame",
        "field 'page.url' must be an http(s) URL",
    ),
    (
        "page.url too long",
        {**HELLO, "page": {"url": "https://a.com/" + "p" * 2035}},
        "invalid_frame",
        "field 'page.url' must be at most 2048 characters",
    ),
    (
        "page_view url",
        {"type": "page_view", "ref": "r1", "url": "/cart"},
        "invalid_frame",
        "field 'url' must be an http(s) URL",
    ),
    (
        "lang",
        {**HELLO, "lang": "en_US"},
        "invalid_frame",
        "field 'lang' must be a language tag such as 'pt-BR'",
    ),
    (
        "lang too long",
        {**HELLO, "lang": "en-" + "abcdefgh-" * 4},
        "invalid_frame",
        "field 'lang' must be at most 35 characters",
    ),
    (
        "tz",
        {**HELLO, "tz": "Europe/../etc"},
        "invalid_frame",
        "field 'tz' must be a time zone name",
    ),
    (
        "identity hash",
        {**HELLO, "identity": {"user_id": "u", "user_hash": "abc"}},
        "invalid_frame",
        "field 'identity.user_hash' must be 64 hex characters",
    ),
    (
        "identity user_id",
        {**HELLO, "identity": {"user_id": "u" * 201, "user_hash": HASH}},
        "invalid_frame",
        "field 'identity.user_id' must be at most 200 characters",
    ),
    (
        "identity email",
        {**HELLO, "identity": {"user_id": "u", "user_hash": HASH, "email": "nope"}},
        "invalid_frame",
        "field 'identity.email' must be an email address",
    ),
    (
        "resume point",
        {**HELLO, "conversation": {"id": "cv_1"}},
        "invalid_frame",
        "field 'conversation.after_seq' is required",
    ),
    (
        "hello attributes 51 keys",
        {**HELLO, "attributes": {f"k{i}": i for i in range(51)}},
        "invalid_frame",
        "field 'attributes' must have at most 50 attributes",
    ),
    (
        "hello attributes nested",
        {**HELLO, "attributes": {"plan": {"a": 1}}},
        "invalid_frame",
        "field 'attributes.plan' must be a string, number, boolean or null",
    ),
    (
        "hello attributes list",
        {**HELLO, "attributes": {"tags": ["a"]}},
        "invalid_frame",
        "field 'attributes.tags' must be a string, number, boolean or null",
    ),
    (
        "hello attributes long key",
        {**HELLO, "attributes": {"k" * 65: 1}},
        "invalid_frame",
        "field 'attributes' must have keys of 1 to 64 characters",
    ),
    (
        "hello attributes long value",
        {**HELLO, "attributes": {"k": "v" * 1001}},
        "invalid_frame",
        "field 'attributes.k' must be at most 1000 characters",
    ),
    (
        "attributes 51 keys",
        {"type": "attributes", "ref": "r1", **{f"k{i}": i for i in range(51)}},
        "invalid_frame",
        "frame must have at most 50 attributes",
    ),
    (
        "attributes nested",
        {"type": "attributes", "ref": "r1", "plan": {"a": 1}},
        "invalid_frame",
        "field 'plan' must be a string, number, boolean or null",
    ),
    (
        "attributes empty key",
        {"type": "attributes", "ref": "r1", "": 1},
        "invalid_frame",
        "frame must have keys of 1 to 64 characters",
    ),
    (
        "attributes email",
        {"type": "attributes", "ref": "r1", "email": "ann"},
        "invalid_frame",
        "field 'email' must be an email address",
    ),
    (
        "attributes name",
        {"type": "attributes", "ref": "r1", "name": 5},
        "invalid_frame",
        "field 'name' must be a string of at most 200 characters",
    ),
    ("track event missing", TRACK, "invalid_frame", "field 'event' is required"),
    (
        "track event 65",
        {**TRACK, "event": "e" * 65},
        "invalid_frame",
        "field 'event' must be at most 64 characters",
    ),
    (
        "track props 51 keys",
        {**TRACK, "event": "e", "props": {f"k{i}": i for i in range(51)}},
        "invalid_frame",
        "field 'props' must have at most 50 props",
    ),
    (
        "track props nested",
        {**TRACK, "event": "e", "props": {"a": {"b": 1}}},
        "invalid_frame",
        "field 'props.a' must be a scalar or a list of scalars",
    ),
    (
        "track props list of lists",
        {**TRACK, "event": "e", "props": {"a": [1, [2]]}},
        "invalid_frame",
        "field 'props.a[1]' must be a string, number, boolean or null",
    ),
    (
        "track props long list",
        {**TRACK, "event": "e", "props": {"a": list(range(21))}},
        "invalid_frame",
        "field 'props.a' must have at most 20 items",
    ),
    (
        "track scroll depth",
        {**TRACK, "event": "scroll", "props": {"depth": 101}},
        "invalid_frame",
        "field 'props.depth' must be a number from 0 to 100",
    ),
    (
        "track scroll no depth",
        {**TRACK, "event": "scroll"},
        "invalid_frame",
        "field 'props.depth' must be a number from 0 to 100",
    ),
    (
        "track conversion value",
        {**TRACK, "event": "conversion", "props": {"value": -1}},
        "invalid_frame",
        "field 'props.value' must be a finite number >= 0",
    ),
    (
        "track conversion currency",
        {**TRACK, "event": "conversion", "props": {"currency": "usd"}},
        "invalid_frame",
        "field 'props.currency' must be an ISO 4217 currency code",
    ),
    (
        "signal with text",
        {**TRACK, "event": "search_no_results", "props": {"query": "red shoes"}},
        "invalid_frame",
        "field 'props.query' is not a prop of search_no_results (allowed: none)",
    ),
    (
        "rage click too few",
        {**TRACK, "event": "rage_click", "props": {"clicks": 2}},
        "invalid_frame",
        "field 'props.clicks' must be a whole number from 3 to 1000",
    ),
    (
        "rage click clicks as text",
        {**TRACK, "event": "rage_click", "props": {"clicks": "3"}},
        "invalid_frame",
        "field 'props.clicks' must be a whole number from 3 to 1000",
    ),
    (
        "error page without status",
        {**TRACK, "event": "error_page"},
        "invalid_frame",
        "field 'props.status' is required",
    ),
    (
        "error page status 200",
        {**TRACK, "event": "error_page", "props": {"status": 200}},
        "invalid_frame",
        "field 'props.status' must be a whole number from 400 to 599",
    ),
    (
        "form error fields as float",
        {**TRACK, "event": "form_error", "props": {"fields": 1.5}},
        "invalid_frame",
        "field 'props.fields' must be a whole number from 0 to 1000",
    ),
    (
        "long wait bool",
        {**TRACK, "event": "long_wait", "props": {"wait_s": True}},
        "invalid_frame",
        "field 'props.wait_s' must be a number from 0 to 86400",
    ),
    (
        "dead click with a selector",
        {**TRACK, "event": "dead_click", "props": {"target": "#buy"}},
        "invalid_frame",
        "field 'props.target' is not a prop of dead_click (allowed: none)",
    ),
    (
        "offline no email",
        {"type": "offline_message", "ref": "r1", "text": "hi"},
        "invalid_frame",
        "field 'email' is required",
    ),
    (
        "offline bad email",
        {"type": "offline_message", "ref": "r1", "email": "a@b", "text": "hi"},
        "invalid_frame",
        "field 'email' must be an email address",
    ),
    (
        "offline empty text",
        {"type": "offline_message", "ref": "r1", "email": "a@b.co", "text": "  "},
        "invalid_frame",
        "field 'text' must not be empty",
    ),
    (
        "chat_start prechat extra",
        {"type": "chat_start", "ref": "r1", "prechat": {"phone": "1"}},
        "invalid_frame",
        "unknown field 'prechat.phone'",
    ),
    (
        "invitation id missing",
        {"type": "invitation_shown", "ref": "r1"},
        "invalid_frame",
        "field 'invitation_id' is required",
    ),
    ("ping extra", {"type": "ping", "ref": "r1", "x": 1}, "invalid_frame", "unknown field 'x'"),
]


@pytest.mark.parametrize(
    ("frame", "code", "message"), [row[1:] for row in INVALID], ids=[row[0] for row in INVALID]
)
def test_invalid_visitor_frames(frame: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_visitor_frame(frame)
    # A ref that is itself invalid is never echoed back.
    ref = (
        frame.get("ref") if isinstance(frame.get("ref"), str) and len(frame["ref"]) <= 64 else None
    )
    assert (caught.value.code, caught.value.message, caught.value.ref) == (code, message, ref)


def test_rows_carry_a_ref() -> None:
    assert all(row[1].get("ref") for row in INVALID)
