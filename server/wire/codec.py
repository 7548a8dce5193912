"""JSON text frames in and out: the structural checks every inbound frame passes.

`decode_frame` enforces what protocol.md says of *any* frame — size, strict JSON,
an object with a string `type`, a valid `ref` — before the per-type models in
`frames.py` look at the fields. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import orjson

from server.wire.errors import FrameError

MAX_FRAME_BYTES = 64 * 1024  # hard limit; the socket layer closes with 1009 above it
MAX_WS_MESSAGE_BYTES = MAX_FRAME_BYTES  # the WebSocket protocol layer refuses larger (1009) too
MAX_DEPTH = 32  # arrays + objects; the top-level object is depth 1
MAX_REF_CHARS = 64

_REF_MESSAGE = f"field 'ref' must be a string of at most {MAX_REF_CHARS} characters"
_NUL_MESSAGE = "NUL characters are not allowed"
_DEPTH_MESSAGE = f"frame is nested deeper than {MAX_DEPTH} levels"


def decode_frame(raw: str | bytes) -> dict[str, Any]:
    """Parse one inbound text frame into a dict with a string `type`.

    `raw` is the frame's text; bytes are read as UTF-8. Raises `FrameError` with
    code `too_large` above `MAX_FRAME_BYTES` (UTF-8 bytes), else `invalid_frame` for:
    invalid UTF-8 or JSON, NaN/Infinity, lone surrogates, NUL characters in any
    string or key, nesting deeper than `MAX_DEPTH`, a non-object top level, a `ref`
    that is not a string of at most 64 characters, or a missing/non-string `type`.
    Once a valid `ref` has been read, every later error carries it.
    The value of `type` is not checked here: unknown types are `frames.py`'s job.
    """
    if isinstance(raw, str):
        # Each character is 1..4 UTF-8 bytes, so only long strings need encoding.
        if len(raw) > MAX_FRAME_BYTES or (
            len(raw) > MAX_FRAME_BYTES // 4
            and len(raw.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES
        ):
            raise FrameError("too_large", f"frame is larger than {MAX_FRAME_BYTES} bytes")
    elif len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frame is larger than {MAX_FRAME_BYTES} bytes")
    try:
        # orjson already rejects NaN/Infinity, out-of-range numbers, lone surrogates
        # (raw or escaped), invalid UTF-8 and raw control characters.
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise FrameError("invalid_frame", _explain_bad_json(raw)) from None
    if type(obj) is not dict:
        raise FrameError("invalid_frame", "frame must be a JSON object")

    ref = obj.get("ref")
    if "ref" in obj:
        if type(ref) is not str or len(ref) > MAX_REF_CHARS:
            raise FrameError("invalid_frame", _REF_MESSAGE)
        if "\x00" in ref:
            raise FrameError("invalid_frame", _NUL_MESSAGE)

    # Cheap text scans decide whether the tree walk is needed at all: a NUL in a
    # parsed string can only come from the escape `\u0000` (orjson rejects a raw
    # one), and a depth above MAX_DEPTH needs more than MAX_DEPTH opening brackets.
    if isinstance(raw, str):
        suspicious = "\\u0000" in raw or raw.count("{") + raw.count("[") > MAX_DEPTH
    else:
        suspicious = b"\\u0000" in raw or raw.count(b"{") + raw.count(b"[") > MAX_DEPTH
    if suspicious:
        problem = _tree_problem(obj, 1)
        if problem is not None:
            raise FrameError("invalid_frame", problem, ref)

    if "type" not in obj:
        raise FrameError("invalid_frame", "field 'type' is required", ref)
    if type(obj["type"]) is not str:
        raise FrameError("invalid_frame", "field 'type' must be a string", ref)
    return obj


def encode_frame(obj: Mapping[str, Any]) -> str:
    """Serialise an outbound frame to JSON text (compact, UTF-8 safe).

    Keys must be strings and values JSON-native (dict, list, str, int, float, bool,
    None); anything else raises `TypeError` (orjson's `JSONEncodeError`). Note that
    orjson writes a non-finite float as `null` — callers must not rely on NaN.
    """
    if type(obj) is not dict:
        obj = dict(obj)
    return orjson.dumps(obj).decode("utf-8")


def error_frame(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    """Build `{"type": "error", "code", "message", "ref"?}` (protocol.md, Errors).

    `ref` is included only when not None, as the client's correlation id.
    """
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = ref
    return frame


def _tree_problem(value: dict[str, Any] | list[Any], depth: int) -> str | None:
    """The first NUL or depth violation in a parsed container at `depth`, or None.

    Recursion is bounded: it stops one level past MAX_DEPTH.
    """
    if depth > MAX_DEPTH:
        return _DEPTH_MESSAGE
    if type(value) is dict:
        for key, item in value.items():
            if "\x00" in key:
                return _NUL_MESSAGE
            problem = _item_problem(item, depth)
            if problem is not None:
                return problem
    else:
        for item in value:
            problem = _item_problem(item, depth)
            if problem is not None:
                return problem
    return None


def _item_problem(item: Any, depth: int) -> str | None:
    kind = type(item)
    if kind is str:
        return _NUL_MESSAGE if "\x00" in item else None
    if kind is dict or kind is list:
        return _tree_problem(item, depth + 1)
    return None


class _NonFinite(Exception):
    """Raised by the stdlib parser hook on NaN, Infinity or -Infinity."""


def _reject_constant(name: str) -> float:
    raise _NonFinite(name)


def _explain_bad_json(raw: str | bytes) -> str:
    """Say why orjson refused `raw`. Cold path: only runs for a rejected frame.

    orjson's own messages are not a stable contract, so the stdlib parser (which
    accepts NaN, Infinity and lone surrogates) is used to tell the cases apart.
    """
    if isinstance(raw, str):
        text = raw
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "lone surrogates are not allowed"
    else:
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return "frame is not valid UTF-8"
    if "\x00" in text:
        return _NUL_MESSAGE
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except _NonFinite:
        return "NaN and Infinity are not allowed"
    except RecursionError:
        return _DEPTH_MESSAGE
    except ValueError:
        return "frame is not valid JSON"
    return _accepted_by_stdlib_only(value, 1) or "frame is not valid JSON"


def _accepted_by_stdlib_only(value: Any, depth: int) -> str | None:
    """What in a stdlib-parsed value made orjson refuse it: depth, surrogates, 1e999."""
    if type(value) is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "lone surrogates are not allowed"
        return None
    if type(value) is float:
        return None if math.isfinite(value) else "numbers must be finite"
    if type(value) not in (dict, list):
        return None
    if depth > MAX_DEPTH:
        return _DEPTH_MESSAGE
    items = list(value.items()) if type(value) is dict else [(None, v) for v in value]
    for key, item in items:
        problem = (key is not None and _accepted_by_stdlib_only(key, depth)) or (
            _accepted_by_stdlib_only(item, depth + 1)
        )
        if problem:
            return problem
    return None
