"""server/wire/codec.py: literal frame text in, exact dict or (code, message, ref) out."""

from __future__ import annotations

import pytest

from server.wire.codec import (
    MAX_DEPTH,
    MAX_FRAME_BYTES,
    decode_frame,
    encode_frame,
    error_frame,
)
from server.wire.errors import FrameError


def nested(levels: int) -> str:
    """A frame whose total depth (top-level object included) is `levels`."""
    inner = levels - 1
    return '{"type":"ping","ref":"r9","a":' + "[" * inner + "]" * inner + "}"


def padded(size: int) -> str:
    """A valid ping frame of exactly `size` UTF-8 bytes."""
    head, tail = '{"type":"ping","pad":"', '"}'
    return head + "x" * (size - len(head) - len(tail)) + tail


VALID = [
    ('{"type":"ping"}', {"type": "ping"}),
    (b'{"type":"ping","ref":"c7"}', {"type": "ping", "ref": "c7"}),
    ('{"type":"x","ref":""}', {"type": "x", "ref": ""}),
    ('{"type":"x","ref":"' + "r" * 64 + '"}', {"type": "x", "ref": "r" * 64}),
    ('{"type":"x","t":"caf\\u00e9 \\ud83d\\ude00"}', {"type": "x", "t": "café 😀"}),
    ('{"type":"x","t":"café 😀"}'.encode(), {"type": "x", "t": "café 😀"}),
    ('{"type":"x","t":"\\\\u0000"}', {"type": "x", "t": "\\u0000"}),  # escaped backslash
    ('{"type":"x","n":[1,-2.5,1e308,null,true]}', {"type": "x", "n": [1, -2.5, 1e308, None, True]}),
    ('{"type":"x","s":"[[[[{{{{' + "[" * 40 + '"}', {"type": "x", "s": "[[[[{{{{" + "[" * 40}),
    (padded(MAX_FRAME_BYTES), {"type": "ping", "pad": "x" * (MAX_FRAME_BYTES - 24)}),
]


@pytest.mark.parametrize(("raw", "expected"), VALID)
def test_decode_valid(raw: str | bytes, expected: dict) -> None:
    assert decode_frame(raw) == expected


def test_depth_32_is_accepted() -> None:
    value = decode_frame(nested(MAX_DEPTH))["a"]
    for _ in range(30):
        value = value[0]
    assert value == []


INVALID = [
    (
        "oversize str",
        padded(MAX_FRAME_BYTES + 1),
        "too_large",
        "frame is larger than 65536 bytes",
        None,
    ),
    (
        "oversize bytes",
        padded(MAX_FRAME_BYTES + 1).encode(),
        "too_large",
        "frame is larger than 65536 bytes",
        None,
    ),
    (
        "oversize multibyte",
        '{"type":"ping","p":"' + "é" * 32768 + '"}',
        "too_large",
        "frame is larger than 65536 bytes",
        None,
    ),
    ("depth 33", nested(33), "invalid_frame", "frame is nested deeper than 32 levels", "r9"),
    # Beyond orjson's own limit (1024) the frame is refused before its ref is read.
    ("depth 2000", nested(2000), "invalid_frame", "frame is nested deeper than 32 levels", None),
    (
        "depth 33 objects",
        '{"ref":"r1","type":"x","a":' + '{"a":' * 32 + "1" + "}" * 32 + "}",
        "invalid_frame",
        "frame is nested deeper than 32 levels",
        "r1",
    ),
    (
        "NaN",
        '{"type":"x","v":NaN,"ref":"r1"}',
        "invalid_frame",
        "NaN and Infinity are not allowed",
        None,
    ),
    (
        "Infinity",
        '{"type":"x","v":Infinity}',
        "invalid_frame",
        "NaN and Infinity are not allowed",
        None,
    ),
    (
        "-Infinity",
        b'{"type":"x","v":[-Infinity]}',
        "invalid_frame",
        "NaN and Infinity are not allowed",
        None,
    ),
    ("overflow", '{"type":"x","v":1e999}', "invalid_frame", "numbers must be finite", None),
    (
        "lone surrogate escaped",
        '{"type":"x","t":"\\ud800"}',
        "invalid_frame",
        "lone surrogates are not allowed",
        None,
    ),
    (
        "lone low surrogate escaped",
        '{"type":"x","t":"a\\udc00b"}',
        "invalid_frame",
        "lone surrogates are not allowed",
        None,
    ),
    (
        "lone surrogate in key",
        '{"type":"x","\\ud800":1}',
        "invalid_frame",
        "lone surrogates are not allowed",
        None,
    ),
    (
        "lone surrogate raw str",
        '{"type":"x","t":"\ud800"}',
        "invalid_frame",
        "lone surrogates are not allowed",
        None,
    ),
    (
        "lone surrogate raw bytes",
        b'{"type":"x","t":"\xed\xa0\x80"}',
        "invalid_frame",
        "frame is not valid UTF-8",
        None,
    ),
    (
        "invalid UTF-8",
        b'{"type":"x","t":"\xff"}',
        "invalid_frame",
        "frame is not valid UTF-8",
        None,
    ),
    (
        "truncated UTF-8",
        b'{"type":"x","t":"\xc3"}',
        "invalid_frame",
        "frame is not valid UTF-8",
        None,
    ),
    (
        "NUL escaped in value",
        '{"ref":"r2","type":"x","t":"a\\u0000"}',
        "invalid_frame",
        "NUL characters are not allowed",
        "r2",
    ),
    (
        "NUL escaped in key",
        '{"ref":"r2","type":"x","k\\u0000":1}',
        "invalid_frame",
        "NUL characters are not allowed",
        "r2",
    ),
    (
        "NUL deep in list",
        '{"ref":"r2","type":"x","a":[{"b":["\\u0000"]}]}',
        "invalid_frame",
        "NUL characters are not allowed",
        "r2",
    ),
    (
        "NUL in type",
        '{"ref":"r2","type":"\\u0000"}',
        "invalid_frame",
        "NUL characters are not allowed",
        "r2",
    ),
    (
        "NUL in ref",
        '{"ref":"\\u0000","type":"x"}',
        "invalid_frame",
        "NUL characters are not allowed",
        None,
    ),
    ("NUL raw", '{"type":"x","t":"\x00"}', "invalid_frame", "NUL characters are not allowed", None),
    ("not JSON", "hello", "invalid_frame", "frame is not valid JSON", None),
    ("empty", "", "invalid_frame", "frame is not valid JSON", None),
    ("trailing comma", '{"type":"x",}', "invalid_frame", "frame is not valid JSON", None),
    ("two values", '{"type":"x"} {}', "invalid_frame", "frame is not valid JSON", None),
    ("array", '[{"type":"x"}]', "invalid_frame", "frame must be a JSON object", None),
    ("string", '"ping"', "invalid_frame", "frame must be a JSON object", None),
    ("null", "null", "invalid_frame", "frame must be a JSON object", None),
    ("missing type", '{"ref":"r3"}', "invalid_frame", "field 'type' is required", "r3"),
    (
        "numeric type",
        '{"ref":"r3","type":1}',
        "invalid_frame",
        "field 'type' must be a string",
        "r3",
    ),
    (
        "null type",
        '{"ref":"r3","type":null}',
        "invalid_frame",
        "field 'type' must be a string",
        "r3",
    ),
    (
        "ref 65 chars",
        '{"type":"x","ref":"' + "r" * 65 + '"}',
        "invalid_frame",
        "field 'ref' must be a string of at most 64 characters",
        None,
    ),
    (
        "ref number",
        '{"type":"x","ref":7}',
        "invalid_frame",
        "field 'ref' must be a string of at most 64 characters",
        None,
    ),
    (
        "ref null",
        '{"type":"x","ref":null}',
        "invalid_frame",
        "field 'ref' must be a string of at most 64 characters",
        None,
    ),
    (
        "ref object",
        '{"type":"x","ref":{"a":1}}',
        "invalid_frame",
        "field 'ref' must be a string of at most 64 characters",
        None,
    ),
]


@pytest.mark.parametrize(
    ("raw", "code", "message", "ref"),
    [row[1:] for row in INVALID],
    ids=[row[0] for row in INVALID],
)
def test_decode_rejects(raw: str | bytes, code: str, message: str, ref: str | None) -> None:
    with pytest.raises(FrameError) as caught:
        decode_frame(raw)
    assert (caught.value.code, caught.value.message, caught.value.ref) == (code, message, ref)


def test_encode_frame_is_compact_utf8_text() -> None:
    frame = {"type": "message", "text": "café 😀", "seq": 3, "on": True, "x": None}
    assert encode_frame(frame) == '{"type":"message","text":"café 😀","seq":3,"on":true,"x":null}'


def test_encode_frame_accepts_any_mapping() -> None:
    from types import MappingProxyType

    assert encode_frame(MappingProxyType({"type": "pong"})) == '{"type":"pong"}'


def test_encode_frame_rejects_non_json_values() -> None:
    with pytest.raises(TypeError):
        encode_frame({"type": "x", "v": object()})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("invalid_frame", "field 'text' is required", "c7"),
            {
                "type": "error",
                "code": "invalid_frame",
                "message": "field 'text' is required",
                "ref": "c7",
            },
        ),
        (
            ("unknown_type", "unknown frame type 'x'"),
            {"type": "error", "code": "unknown_type", "message": "unknown frame type 'x'"},
        ),
    ],
)
def test_error_frame(args: tuple, expected: dict) -> None:
    assert error_frame(*args) == expected


def test_error_frame_round_trips_through_the_codec() -> None:
    text = encode_frame(error_frame("too_large", "frame is larger than 65536 bytes", "r"))
    assert decode_frame(text) == {
        "type": "error",
        "code": "too_large",
        "message": "frame is larger than 65536 bytes",
        "ref": "r",
    }
