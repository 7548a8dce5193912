"""Inbound frame validation: a decoded frame dict in, a typed frozen model out.

`parse_visitor_frame` / `parse_agent_frame` pick the model by `type` from
`VISITOR_FRAMES` / `AGENT_FRAMES` and validate it. Any problem becomes ONE
`FrameError` worded like protocol.md's example (`field 'text' is required`),
carrying the frame's `ref`. The models live in `visitor_frames.py` and
`agent_frames.py` and are re-exported here. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from server.wire.agent_frames import (
    AGENT_FRAMES,
    AgentAccept,
    AgentClose,
    AgentDecline,
    AgentFrame,
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
)
from server.wire.errors import FrameError
from server.wire.visitor_frames import (
    SURVEY_SCALES,
    VISITOR_FRAMES,
    Identity,
    Page,
    Prechat,
    ResumePoint,
    VisitorAttributes,
    VisitorCart,
    VisitorChatStart,
    VisitorClose,
    VisitorFollowUpRead,
    VisitorFrame,
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
)

__all__ = [
    "AGENT_FRAMES",
    "SURVEY_SCALES",
    "VISITOR_FRAMES",
    "AgentAccept",
    "AgentClose",
    "AgentDecline",
    "AgentFrame",
    "AgentHello",
    "AgentInvite",
    "AgentMessage",
    "AgentPing",
    "AgentRead",
    "AgentResume",
    "AgentStatus",
    "AgentTransfer",
    "AgentTyping",
    "AgentUnwatch",
    "AgentView",
    "AgentWatch",
    "Identity",
    "Page",
    "Prechat",
    "ResumePoint",
    "VisitorAttributes",
    "VisitorCart",
    "VisitorChatStart",
    "VisitorClose",
    "VisitorFollowUpRead",
    "VisitorFrame",
    "VisitorHello",
    "VisitorInvitationAccept",
    "VisitorInvitationDismiss",
    "VisitorInvitationShown",
    "VisitorMessage",
    "VisitorOfflineMessage",
    "VisitorPageView",
    "VisitorPing",
    "VisitorRead",
    "VisitorResume",
    "VisitorSurvey",
    "VisitorTrack",
    "VisitorTranscriptRequest",
    "VisitorTyping",
    "explain_validation_error",
    "parse_agent_frame",
    "parse_visitor_frame",
]

_MAX_SHOWN_CHARS = 64  # names echoed in messages are truncated: they come from the client

M = TypeVar("M", bound=BaseModel)


def parse_visitor_frame(obj: dict[str, Any]) -> VisitorFrame:
    """Validate a decoded visitor frame (output of `codec.decode_frame`).

    Raises `FrameError("unknown_type")` for a type not in `VISITOR_FRAMES`, else
    `FrameError("invalid_frame")` naming the first bad field; both carry `ref`.
    """
    return _parse(obj, VISITOR_FRAMES)


def parse_agent_frame(obj: dict[str, Any]) -> AgentFrame:
    """Validate a decoded agent frame; same contract as `parse_visitor_frame`."""
    return _parse(obj, AGENT_FRAMES)


def _parse(obj: dict[str, Any], table: Mapping[str, type[M]]) -> M:
    if type(obj) is not dict:
        raise FrameError("invalid_frame", "frame must be a JSON object")
    ref = obj.get("ref")
    # Echo only a ref that is itself valid; `decode_frame` has normally checked it.
    if type(ref) is not str or len(ref) > 64:
        ref = None
    if "type" not in obj:
        raise FrameError("invalid_frame", "field 'type' is required", ref)
    kind = obj["type"]
    if type(kind) is not str:
        raise FrameError("invalid_frame", "field 'type' must be a string", ref)
    model = table.get(kind)
    if model is None:
        raise FrameError("unknown_type", f"unknown frame type '{_shown(kind)}'", ref)
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise FrameError("invalid_frame", explain_validation_error(exc), ref) from None


def explain_validation_error(exc: ValidationError) -> str:
    """One client-facing sentence for the first error of a frame model's validation."""
    error = exc.errors(include_url=False, include_input=False)[0]
    kind = error["type"]
    ctx = error.get("ctx") or {}
    parts = [f"[{part}]" if type(part) is int else str(part) for part in error["loc"]]
    if kind == "wire_field" and ctx.get("sub"):
        parts.append(ctx["sub"])
    path = ".".join(parts).replace(".[", "[")
    if kind == "extra_forbidden":
        return f"unknown field '{_shown(path)}'"
    if kind == "wire_field":
        phrase = ctx["what"]
    else:
        describe = _PHRASES.get(kind)
        phrase = describe(ctx) if describe is not None else "is invalid"
    return f"field '{_shown(path)}' {phrase}" if path else f"frame {phrase}"


def _shown(name: str) -> str:
    return name if len(name) <= _MAX_SHOWN_CHARS else name[:_MAX_SHOWN_CHARS] + "…"


def _number(value: Any) -> str:
    if type(value) is float and value.is_integer():
        return str(int(value))
    return str(value)


def _min_length(ctx: dict[str, Any]) -> str:
    if ctx.get("min_length") == 1:
        return "must not be empty"
    return f"must be at least {ctx.get('min_length')} characters"


# pydantic error type -> phrase after "field 'x' ". Types not listed read "is invalid".
_PHRASES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda ctx: "is required",
    "string_type": lambda ctx: "must be a string",
    "string_too_short": _min_length,
    "string_too_long": lambda ctx: f"must be at most {ctx.get('max_length')} characters",
    "string_pattern_mismatch": lambda ctx: "has an invalid format",
    "int_type": lambda ctx: "must be an integer",
    "float_type": lambda ctx: "must be a number",
    "finite_number": lambda ctx: "must be a finite number",
    "bool_type": lambda ctx: "must be a boolean",
    "greater_than_equal": lambda ctx: f"must be >= {_number(ctx.get('ge'))}",
    "greater_than": lambda ctx: f"must be > {_number(ctx.get('gt'))}",
    "less_than_equal": lambda ctx: f"must be <= {_number(ctx.get('le'))}",
    "less_than": lambda ctx: f"must be < {_number(ctx.get('lt'))}",
    "literal_error": lambda ctx: f"must be {ctx.get('expected')}",
    "model_type": lambda ctx: "must be an object",
    "model_attributes_type": lambda ctx: "must be an object",
    "dict_type": lambda ctx: "must be an object",
    "list_type": lambda ctx: "must be an array",
    "too_long": lambda ctx: f"must have at most {ctx.get('max_length')} items",
}
