"""Versioned msgpack envelopes for node-to-node messages (pure: bytes in, object out).

Wire format, version 1: a msgpack array of exactly four items

    [v: int = 1, kind: str, node: str, payload: any msgpack value]

`kind` names what the payload is (the receiver rejects kinds it does not know,
it never executes them); `node` is the sending node's id, so a node can skip its
own echoes. No pickle, no msgpack extension types, no implicit fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

ENVELOPE_VERSION = 1
MAX_ENVELOPE_BYTES = 4 * 1024 * 1024
"""Larger input is rejected before decoding (a chat frame is far smaller)."""


class EnvelopeError(ValueError):
    """Bytes that are not a valid envelope, or fields that cannot make one."""


@dataclass(frozen=True, slots=True)
class Envelope:
    v: int
    kind: str
    node: str
    payload: Any


def _reject_ext(code: int, data: bytes) -> Any:
    raise EnvelopeError(f"msgpack extension type {code} is not allowed in an envelope")


def encode_envelope(kind: str, node: str, payload: Any) -> bytes:
    """Encode one envelope. Raises EnvelopeError for an empty/non-str kind or node,
    or a payload msgpack cannot encode (e.g. a set or an arbitrary object)."""
    for field, value in (("kind", kind), ("node", node)):
        if not isinstance(value, str) or not value:
            raise EnvelopeError(f"envelope {field} must be a non-empty str, got {value!r}")
    try:
        return msgpack.packb([ENVELOPE_VERSION, kind, node, payload], use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise EnvelopeError(f"envelope payload cannot be encoded: {exc}") from exc


def decode_envelope(data: bytes) -> Envelope:
    """Decode one envelope. Raises EnvelopeError on anything but a valid v1 envelope."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EnvelopeError(f"envelope must be bytes, got {type(data).__name__}")
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"envelope of {len(data)} bytes exceeds {MAX_ENVELOPE_BYTES}")
    try:
        items = msgpack.unpackb(
            data, raw=False, use_list=True, strict_map_key=True, ext_hook=_reject_ext
        )
    except EnvelopeError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        # ExtraData, FormatError, StackError, UnicodeDecodeError ... all mean garbage.
        raise EnvelopeError(f"envelope is not valid msgpack: {exc}") from exc
    if not isinstance(items, list) or not items:
        raise EnvelopeError("envelope must be a msgpack array")
    version = items[0]
    if type(version) is not int:
        raise EnvelopeError(f"envelope version must be an int, got {version!r}")
    if version != ENVELOPE_VERSION:
        raise EnvelopeError(f"unsupported envelope version {version}")
    if len(items) != 4:
        raise EnvelopeError(f"envelope v1 has 4 fields, got {len(items)}")
    _, kind, node, payload = items
    for field, value in (("kind", kind), ("node", node)):
        if not isinstance(value, str) or not value:
            raise EnvelopeError(f"envelope {field} must be a non-empty str, got {value!r}")
    return Envelope(version, kind, node, payload)
