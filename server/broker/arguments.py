"""Validation and encoding of caller arguments, shared so both backends agree exactly."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from server.broker.base import ScriptArg


def check_name(kind: str, name: object) -> str:
    """Return `name` if it is a non-empty str; else raise TypeError/ValueError naming `kind`."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} must be a str, not {type(name).__name__}")
    if not name:
        raise ValueError(f"{kind} must not be empty")
    return name


def check_bytes(kind: str, data: object) -> bytes:
    """Return `data` if it is bytes; else raise TypeError (no implicit str encoding)."""
    if not isinstance(data, bytes):
        raise TypeError(f"{kind} must be bytes, not {type(data).__name__}")
    return data


def ttl_to_ms(ttl_s: object) -> int:
    """Convert a TTL in seconds (finite, > 0) to whole milliseconds (at least 1).

    Raises TypeError for non-numbers (bool included), ValueError for <= 0 or non-finite.
    """
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float):
        raise TypeError(f"ttl_s must be a number of seconds, not {type(ttl_s).__name__}")
    if not math.isfinite(ttl_s) or ttl_s <= 0:
        raise ValueError(f"ttl_s must be a finite number of seconds > 0, got {ttl_s!r}")
    return max(1, round(ttl_s * 1000))


def presence_member_args(members: Mapping[str, bytes], ttl_s: object) -> list[ScriptArg]:
    """ARGV of presence_set_many: ttl_ms, then member1, value1, member2, value2, ...

    Checks every member and value first, so a bad one sends nothing."""
    args: list[ScriptArg] = [ttl_to_ms(ttl_s)]
    for member, value in members.items():
        args.append(check_name("member", member))
        args.append(check_bytes("value", value))
    return args


def encode_script_args(args: Sequence[ScriptArg]) -> list[bytes]:
    """Encode ARGV as Redis would see it: bytes as is, str as UTF-8, numbers as text.

    The memory backend runs its scripts on exactly these bytes, so both parse the
    same text. Raises TypeError for anything else (None and bool included).
    """
    encoded: list[bytes] = []
    for index, arg in enumerate(args):
        if isinstance(arg, bytes):
            encoded.append(arg)
        elif isinstance(arg, str):
            encoded.append(arg.encode())
        elif isinstance(arg, bool) or not isinstance(arg, int | float):
            raise TypeError(
                f"script argument {index} must be str, int, float or bytes, "
                f"not {type(arg).__name__}"
            )
        elif isinstance(arg, int):
            encoded.append(str(arg).encode())
        else:
            encoded.append(repr(arg).encode())
    return encoded


def presence_keys(prefix: str, group: str) -> list[str]:
    """KEYS of the presence scripts: [expiry zset, values hash].

    The group is a hash tag so both keys land in one Redis Cluster slot.
    """
    return [f"{prefix}presence:{{{group}}}:expiry", f"{prefix}presence:{{{group}}}:values"]
