"""Envelopes between nodes: literal bytes in, exact object or EnvelopeError out."""

from __future__ import annotations

import msgpack
import pytest

from server.broker.envelope import (
    MAX_ENVELOPE_BYTES,
    Envelope,
    EnvelopeError,
    decode_envelope,
    encode_envelope,
)

MESSAGE_BYTES = b"\x94\x01\xa3msg\xa6node-a\x82\xa3seq\x07\xa4text\xa2hi"


def test_encode_is_a_four_item_msgpack_array():
    assert encode_envelope("msg", "node-a", {"seq": 7, "text": "hi"}) == MESSAGE_BYTES


def test_decode_gives_the_exact_envelope():
    assert decode_envelope(MESSAGE_BYTES) == Envelope(
        v=1, kind="msg", node="node-a", payload={"seq": 7, "text": "hi"}
    )


@pytest.mark.parametrize(
    "payload",
    [None, 0, -1, 2**63 - 1, 1.5, "", "é☃", b"\x00\xff", [1, [2, {"a": None}]], {"k": b"v"}],
)
def test_payloads_round_trip(payload):
    envelope = decode_envelope(encode_envelope("k", "n", payload))
    assert envelope == Envelope(1, "k", "n", payload)


def test_decode_accepts_bytearray_and_memoryview():
    assert decode_envelope(bytearray(MESSAGE_BYTES)).kind == "msg"
    assert decode_envelope(memoryview(MESSAGE_BYTES)).node == "node-a"


def test_unknown_kinds_are_decoded_for_the_caller_to_reject():
    assert decode_envelope(encode_envelope("never-heard-of-it", "n", {})).kind == (
        "never-heard-of-it"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "envelope is not valid msgpack: "),
        (b"\xc1", "envelope is not valid msgpack: "),
        (b"\x94\x01", "envelope is not valid msgpack: "),
        (MESSAGE_BYTES + b"\x00", "envelope is not valid msgpack: "),
        (b"\x94\x01\xa1k\xa1n\xa2\xff\xfe", "envelope is not valid msgpack: "),
        (b"\x81\xa1v\x01", "envelope must be a msgpack array"),
        (b"\x90", "envelope must be a msgpack array"),
        (b"\x01", "envelope must be a msgpack array"),
        (b"\x94\x02\xa1k\xa1n\xc0", "unsupported envelope version 2"),
        (b"\x94\xc3\xa1k\xa1n\xc0", "envelope version must be an int, got True"),
        (b"\x94\xa11\xa1k\xa1n\xc0", "envelope version must be an int, got '1'"),
        (b"\x93\x01\xa1k\xa1n", "envelope v1 has 4 fields, got 3"),
        (b"\x95\x01\xa1k\xa1n\xc0\xc0", "envelope v1 has 4 fields, got 5"),
        (b"\x94\x01\x07\xa1n\xc0", "envelope kind must be a non-empty str, got 7"),
        (b"\x94\x01\xa0\xa1n\xc0", "envelope kind must be a non-empty str, got ''"),
        (b"\x94\x01\xa1k\xc4\x01n\xc0", "envelope node must be a non-empty str, got b'n'"),
        (b"\x94\x01\xa1k\xa1n\xd4\x05\x00", "msgpack extension type 5 is not allowed"),
        (b"\x94\x01\xa1k\xa1n\x81\x01\x02", "envelope is not valid msgpack: "),
    ],
)
def test_garbage_is_an_envelope_error(data, message):
    with pytest.raises(EnvelopeError) as caught:
        decode_envelope(data)
    assert str(caught.value).startswith(message)


def test_decode_rejects_non_bytes_and_oversize_input():
    with pytest.raises(EnvelopeError, match=r"^envelope must be bytes, got str$"):
        decode_envelope("\x94")
    oversize = msgpack.packb([1, "k", "n", b"x" * MAX_ENVELOPE_BYTES])
    with pytest.raises(EnvelopeError, match=r"^envelope of 4194315 bytes exceeds 4194304$"):
        decode_envelope(oversize)


def test_a_pickle_is_just_garbage():
    import pickle

    with pytest.raises(EnvelopeError):
        decode_envelope(pickle.dumps({"kind": "msg"}))


@pytest.mark.parametrize(
    ("kind", "node", "payload", "message"),
    [
        ("", "n", {}, "envelope kind must be a non-empty str, got ''"),
        ("k", None, {}, "envelope node must be a non-empty str, got None"),
        ("k", "n", {1, 2}, "envelope payload cannot be encoded: "),
        ("k", "n", object(), "envelope payload cannot be encoded: "),
        ("k", "n", 2**64, "envelope payload cannot be encoded: "),
    ],
)
def test_encode_rejects_what_it_cannot_send(kind, node, payload, message):
    with pytest.raises(EnvelopeError) as caught:
        encode_envelope(kind, node, payload)
    assert str(caught.value).startswith(message)


def test_envelope_error_is_a_value_error():
    assert issubclass(EnvelopeError, ValueError)
