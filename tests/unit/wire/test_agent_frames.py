"""server/wire/frames.py, agent socket: a frame dict in, an exact model or error out."""

from __future__ import annotations

from typing import Any

import pytest

from server.wire.errors import FrameError
from server.wire.frames import (
    AGENT_FRAMES,
    AgentAccept,
    AgentClose,
    AgentDecline,
    AgentHello,
    AgentInvite,
    AgentMessage,
    AgentPing,
    AgentRead,
    AgentResume,
    AgentStatus,
    AgentTransfer,
    AgentTyping,
    AgentUnwatch,
    AgentView,
    AgentWatch,
    parse_agent_frame,
)

VALID: list[tuple[dict[str, Any], type, dict[str, Any]]] = [
    (
        {"type": "hello", "token": "bk_abc"},
        AgentHello,
        {"ref": None, "type": "hello", "token": "bk_abc"},
    ),
    (
        {"type": "status", "status": "away"},
        AgentStatus,
        {"ref": None, "type": "status", "status": "away"},
    ),
    (
        {"type": "accept", "ref": "a1", "conversation_id": "cv_1"},
        AgentAccept,
        {"ref": "a1", "type": "accept", "conversation_id": "cv_1"},
    ),
    (
        {"type": "decline", "conversation_id": "cv_1"},
        AgentDecline,
        {"ref": None, "type": "decline", "conversation_id": "cv_1"},
    ),
    (
        {"type": "message", "conversation_id": "cv_1", "client_msg_id": "m1", "text": " hi "},
        AgentMessage,
        {
            "ref": None,
            "type": "message",
            "conversation_id": "cv_1",
            "client_msg_id": "m1",
            "text": "hi",
            "internal": False,
            "attachments": [],
        },
    ),
    (
        {
            "type": "message",
            "conversation_id": "cv_1",
            "client_msg_id": "m2",
            "text": "vip",
            "internal": True,
        },
        AgentMessage,
        {
            "ref": None,
            "type": "message",
            "conversation_id": "cv_1",
            "client_msg_id": "m2",
            "text": "vip",
            "internal": True,
            "attachments": [],
        },
    ),
    (
        {"type": "typing", "conversation_id": "cv_1", "on": True},
        AgentTyping,
        {"ref": None, "type": "typing", "conversation_id": "cv_1", "on": True},
    ),
    (
        {"type": "read", "conversation_id": "cv_1", "seq": 9},
        AgentRead,
        {"ref": None, "type": "read", "conversation_id": "cv_1", "seq": 9},
    ),
    (
        {"type": "resume", "conversation_id": "cv_1", "after_seq": 0},
        AgentResume,
        {"ref": None, "type": "resume", "conversation_id": "cv_1", "after_seq": 0},
    ),
    (
        {"type": "transfer", "conversation_id": "cv_1", "agent_id": "ag_2"},
        AgentTransfer,
        {
            "ref": None,
            "type": "transfer",
            "conversation_id": "cv_1",
            "agent_id": "ag_2",
            "department": None,
        },
    ),
    (
        {"type": "transfer", "conversation_id": "cv_1", "department": "billing"},
        AgentTransfer,
        {
            "ref": None,
            "type": "transfer",
            "conversation_id": "cv_1",
            "agent_id": None,
            "department": "billing",
        },
    ),
    (
        {"type": "close", "conversation_id": "cv_1"},
        AgentClose,
        {"ref": None, "type": "close", "conversation_id": "cv_1"},
    ),
    (
        {"type": "invite", "visitor_id": "vi_1", "text": "Need help? "},
        AgentInvite,
        {"ref": None, "type": "invite", "visitor_id": "vi_1", "text": "Need help?"},
    ),
    (
        {"type": "watch", "site_id": "st_1"},
        AgentWatch,
        {"ref": None, "type": "watch", "site_id": "st_1"},
    ),
    (
        {"type": "view", "site_id": "st_1", "query": {"q": "ann", "cart_min": 5}, "limit": 20},
        AgentView,
        {
            "ref": None,
            "type": "view",
            "site_id": "st_1",
            "query": {"q": "ann", "cart_min": 5},
            "offset": 0,
            "limit": 20,
        },
    ),
    (
        {"type": "unwatch", "site_id": "st_1"},
        AgentUnwatch,
        {"ref": None, "type": "unwatch", "site_id": "st_1"},
    ),
    ({"type": "ping"}, AgentPing, {"ref": None, "type": "ping"}),
]


@pytest.mark.parametrize(
    ("frame", "model", "expected"), VALID, ids=[row[0]["type"] for row in VALID]
)
def test_valid_agent_frames(frame: dict[str, Any], model: type, expected: dict[str, Any]) -> None:
    parsed = parse_agent_frame(frame)
    assert type(parsed) is model
    assert parsed.model_dump() == expected


def test_every_agent_type_has_a_valid_example() -> None:
    assert {row[0]["type"] for row in VALID} == set(AGENT_FRAMES)


MSG = {
    "type": "message",
    "ref": "r1",
    "conversation_id": "cv_1",
    "client_msg_id": "m1",
    "text": "hi",
}
TRANSFER = {"type": "transfer", "ref": "r1", "conversation_id": "cv_1"}

INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown type", {"type": "xyz", "ref": "r1"}, "unknown_type", "unknown frame type 'xyz'"),
    (
        "visitor-only type",
        {"type": "cart", "ref": "r1"},
        "unknown_type",
        "unknown frame type 'cart'",
    ),
    (
        "hello no token",
        {"type": "hello", "ref": "r1"},
        "invalid_frame",
        "field 'token' is required",
    ),
    (
        "hello empty token",
        {"type": "hello", "ref": "r1", "token": ""},
        "invalid_frame",
        "field 'token' must not be empty",
    ),
    (
        "status busy",
        {"type": "status", "ref": "r1", "status": "busy"},
        "invalid_frame",
        "field 'status' must be 'online', 'away' or 'offline'",
    ),
    (
        "accept no id",
        {"type": "accept", "ref": "r1"},
        "invalid_frame",
        "field 'conversation_id' is required",
    ),
    (
        "decline number id",
        {"type": "decline", "ref": "r1", "conversation_id": 1},
        "invalid_frame",
        "field 'conversation_id' must be a string",
    ),
    ("internal int", {**MSG, "internal": 1}, "invalid_frame", "field 'internal' must be a boolean"),
    (
        "internal string",
        {**MSG, "internal": "yes"},
        "invalid_frame",
        "field 'internal' must be a boolean",
    ),
    (
        "text 4001",
        {**MSG, "text": "x" * 4001},
        "invalid_frame",
        "field 'text' must be at most 4000 characters",
    ),
    (
        "text whitespace",
        {**MSG, "text": "\u3000 \n"},
        "invalid_frame",
        "field 'text' must not be empty",
    ),
    ("extra field", {**MSG, "colour": "red"}, "invalid_frame", "unknown field 'colour'"),
    (
        "transfer neither",
        TRANSFER,
        "invalid_frame",
        "frame must have exactly one of 'agent_id' and 'department'",
    ),
    (
        "transfer both",
        {**TRANSFER, "agent_id": "ag_2", "department": "billing"},
        "invalid_frame",
        "frame must have exactly one of 'agent_id' and 'department'",
    ),
    (
        "transfer empty agent",
        {**TRANSFER, "agent_id": ""},
        "invalid_frame",
        "field 'agent_id' must not be empty",
    ),
    (
        "invite no text",
        {"type": "invite", "ref": "r1", "visitor_id": "vi_1"},
        "invalid_frame",
        "field 'text' is required",
    ),
    (
        "watch long site",
        {"type": "watch", "ref": "r1", "site_id": "s" * 65},
        "invalid_frame",
        "field 'site_id' must be at most 64 characters",
    ),
    (
        "view limit too big",
        {"type": "view", "ref": "r1", "site_id": "s", "limit": 201},
        "invalid_frame",
        "field 'limit' must be an integer 1..200",
    ),
    (
        "view query not an object",
        {"type": "view", "ref": "r1", "site_id": "s", "query": ["q"]},
        "invalid_frame",
        "field 'query' must be an object",
    ),
    (
        "view query nested",
        {"type": "view", "ref": "r1", "site_id": "s", "query": {"q": {"x": 1}}},
        "invalid_frame",
        "field 'query.q' must be a string, number or boolean",
    ),
    (
        "read float",
        {"type": "read", "ref": "r1", "conversation_id": "c", "seq": 1.0},
        "invalid_frame",
        "field 'seq' must be an integer >= 0",
    ),
    (
        "typing int",
        {"type": "typing", "ref": "r1", "conversation_id": "c", "on": 0},
        "invalid_frame",
        "field 'on' must be a boolean",
    ),
    (
        "typing missing on",
        {"type": "typing", "ref": "r1", "conversation_id": "c"},
        "invalid_frame",
        "field 'on' is required",
    ),
]


@pytest.mark.parametrize(
    ("frame", "code", "message"), [row[1:] for row in INVALID], ids=[row[0] for row in INVALID]
)
def test_invalid_agent_frames(frame: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_agent_frame(frame)
    assert (caught.value.code, caught.value.message, caught.value.ref) == (code, message, "r1")


def test_non_dict_is_rejected() -> None:
    with pytest.raises(FrameError) as caught:
        parse_agent_frame(["ping"])  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.message, caught.value.ref) == (
        "invalid_frame",
        "frame must be a JSON object",
        None,
    )
