"""Python twins of server/broker/lua/*.lua for the memory backend.

Each function takes (keyspace, KEYS, ARGV as bytes) and returns what the Lua
script returns as redis-py would see it: int, bytes, None or a list. They never
await, so each runs atomically on the event loop. The conformance suite runs the
same tests on both backends to keep the twins identical; change both together.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from server.broker.base import ScriptError
from server.broker.memory_keyspace import MemoryKeyspace, zset_order

MemoryScript = Callable[[MemoryKeyspace, list[str], list[bytes]], Any]

# What Lua 5.1's tonumber() accepts (strtod, or hex), surrounded by whitespace.
_LUA_DECIMAL = re.compile(
    rb"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)\s*", re.IGNORECASE
)
_LUA_HEX = re.compile(rb"\s*0[xX][0-9a-fA-F]+\s*")


def lua_tonumber(raw: bytes | None) -> float | None:
    """Lua's tonumber() on a Redis value: a float, or None if it is not a number."""
    if raw is None:
        return None
    if _LUA_HEX.fullmatch(raw):
        return float(int(raw.strip(), 16))
    if _LUA_DECIMAL.fullmatch(raw):
        return float(raw)
    return None


def _is_int(value: float | None, minimum: int) -> bool:
    return value is not None and math.isfinite(value) and value % 1 == 0 and value >= minimum


def _int_arg(script: str, args: list[bytes], index: int, name: str, minimum: int) -> int:
    value = lua_tonumber(args[index] if index < len(args) else None)
    if not _is_int(value, minimum):
        raise ScriptError(f"{script}: {name} must be an integer >= {minimum}")
    return int(value)  # type: ignore[arg-type]


def _arg(args: list[bytes], index: int) -> bytes:
    # A missing ARGV is nil in Lua; Redis then rejects the command it is passed to.
    if index >= len(args):
        raise ScriptError(f"missing ARGV[{index + 1}]")
    return args[index]


def incr_capped(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    limit = _int_arg("incr_capped", args, 0, "limit", 0)
    ttl_ms = _int_arg("incr_capped", args, 1, "ttl_ms", 0)
    amount = _int_arg("incr_capped", args, 2, "amount", 1)
    raw = ks.get(keys[0])
    current = 0 if raw is None else int(raw)
    if current + amount > limit:
        return -1
    value = current + amount
    if raw is None:
        ks.set(keys[0], str(value).encode(), ttl_ms if ttl_ms > 0 else None)
    else:
        ks.set(keys[0], str(value).encode(), keep_ttl=True)
    return value


def decr_floor(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    amount = _int_arg("decr_floor", args, 0, "amount", 1)
    raw = ks.get(keys[0])
    if raw is None:
        return 0
    current = int(raw)
    if current <= 0:
        return current
    value = current - min(current, amount)
    ks.set(keys[0], str(value).encode(), keep_ttl=True)
    return value


def login_attempt(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    limits = (
        _int_arg("login_attempt", args, 0, "account_limit", 1),
        _int_arg("login_attempt", args, 1, "address_limit", 1),
    )
    window_ms = _int_arg("login_attempt", args, 2, "window_ms", 1)
    wait = 0
    for key, limit in zip(keys, limits, strict=True):
        raw = ks.get(key)
        if raw is not None and int(raw) >= limit:
            ttl = ks.pttl(key)
            wait = max(wait, ttl if ttl >= 1 else window_ms)
    if wait > 0:
        return wait
    for key in keys:
        raw = ks.get(key)
        ks.set(key, str(1 if raw is None else int(raw) + 1).encode(), keep_ttl=True)
        if ks.pttl(key) < 0:
            ks.pexpire_at(key, ks.now_ms() + window_ms)
    return 0


def counter_get(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    raw = ks.get(keys[0])
    return 0 if raw is None else int(raw)


def queue_push(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    member = _arg(args, 0)
    score = lua_tonumber(args[1] if len(args) > 1 else None)
    if score is None or math.isnan(score):
        raise ScriptError("queue_push: score must be a number")
    queue = ks.zset(keys[0])
    queue.setdefault(member, score)
    return zset_order(queue).index(member) + 1


def queue_remove(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    queue = ks.zset(keys[0])
    removed = queue.pop(_arg(args, 0), None) is not None
    ks.drop_if_empty(keys[0])
    return int(removed)


def queue_position(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int | None:
    member = _arg(args, 0)
    queue = ks.zset(keys[0])
    ks.drop_if_empty(keys[0])
    if member not in queue:
        return None
    return zset_order(queue).index(member) + 1


def claim_from_queue(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> bytes | None:
    agent = _arg(args, 0)
    capacity = _int_arg("claim_from_queue", args, 1, "capacity", 0)
    load_key, queue_key = keys[1], keys[0]
    load = ks.hash(load_key)
    current = int(load.get(agent, b"0"))
    ks.drop_if_empty(load_key)
    if current >= capacity:
        return None
    queue = ks.zset(queue_key)
    if not queue:
        ks.drop_if_empty(queue_key)
        return None
    head = min(queue, key=lambda member: (queue[member], member))
    del queue[head]
    ks.drop_if_empty(queue_key)
    ks.hash(load_key)[agent] = str(current + 1).encode()
    return head


def claim_member(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    agent = _arg(args, 0)
    capacity = _int_arg("claim_member", args, 1, "capacity", 0)
    member = _arg(args, 2)
    queue_key, load_key = keys[0], keys[1]
    load = ks.hash(load_key)
    current = int(load.get(agent, b"0"))
    ks.drop_if_empty(load_key)
    queue = ks.zset(queue_key)
    if member not in queue:
        ks.drop_if_empty(queue_key)
        return 0
    if current >= capacity:
        return -1
    del queue[member]
    ks.drop_if_empty(queue_key)
    ks.hash(load_key)[agent] = str(current + 1).encode()
    return 1


def take_slot(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    agent = _arg(args, 0)
    capacity = _int_arg("take_slot", args, 1, "capacity", 0)
    load = ks.hash(keys[0])
    current = int(load.get(agent, b"0"))
    if current >= capacity:
        ks.drop_if_empty(keys[0])
        return -1
    load[agent] = str(current + 1).encode()
    return current + 1


def hash_all(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> list[bytes]:
    flat: list[bytes] = []
    for field, value in ks.hash(keys[0]).items():
        flat += [field, value]
    ks.drop_if_empty(keys[0])
    return flat


def hash_set(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    field = _arg(args, 0)
    value = _int_arg("hash_set", args, 1, "value", 0)
    table = ks.hash(keys[0])
    if value == 0:
        table.pop(field, None)
    else:
        table[field] = str(value).encode()
    ks.drop_if_empty(keys[0])
    return value


def release_load(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    agent = _arg(args, 0)
    load = ks.hash(keys[0])
    current = int(load.get(agent, b"0"))
    if current <= 1:
        load.pop(agent, None)
        ks.drop_if_empty(keys[0])
        return 0
    load[agent] = str(current - 1).encode()
    return current - 1


def _drop_expired_members(ks: MemoryKeyspace, keys: list[str]) -> dict[bytes, float]:
    now = ks.now_ms()
    expiry, values = ks.zset(keys[0]), ks.hash(keys[1])
    # Expired means expires_at <= now, as ZRANGEBYSCORE -inf now in the Lua twin.
    for member in [m for m, expires_at in expiry.items() if expires_at <= now]:
        del expiry[member]
        values.pop(member, None)
    return expiry


def presence_set(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    member, value = _arg(args, 0), _arg(args, 1)
    ttl_ms = _int_arg("presence_set", args, 2, "ttl_ms", 1)
    expiry = _drop_expired_members(ks, keys)
    expiry[member] = ks.now_ms() + ttl_ms
    ks.hash(keys[1])[member] = value
    last = int(max(expiry.values()))
    ks.pexpire_at(keys[0], last)
    ks.pexpire_at(keys[1], last)
    return len(expiry)


def presence_set_many(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    ttl_ms = _int_arg("presence_set_many", args, 0, "ttl_ms", 1)
    if len(args) % 2 != 1:
        raise ScriptError("presence_set_many: members and values must come in pairs")
    expiry = _drop_expired_members(ks, keys)
    expires_at = ks.now_ms() + ttl_ms
    values = ks.hash(keys[1])
    for i in range(1, len(args), 2):
        expiry[args[i]] = expires_at
        values[args[i]] = args[i + 1]
    if not expiry:
        ks.drop_if_empty(keys[0])
        ks.drop_if_empty(keys[1])
        return 0
    _expire_at_last(ks, keys, expiry)
    return len(expiry)


def presence_remove(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    member = _arg(args, 0)
    ks.hash(keys[1]).pop(member, None)
    removed = ks.zset(keys[0]).pop(member, None) is not None
    ks.drop_if_empty(keys[0])
    ks.drop_if_empty(keys[1])
    return int(removed)


def presence_members(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> list[bytes]:
    _drop_expired_members(ks, keys)
    flat = [item for pair in ks.hash(keys[1]).items() for item in pair]
    ks.drop_if_empty(keys[0])
    ks.drop_if_empty(keys[1])
    return flat


def _expire_at_last(ks: MemoryKeyspace, keys: list[str], expiry: dict[bytes, float]) -> None:
    last = int(max(expiry.values()))
    ks.pexpire_at(keys[0], last)
    ks.pexpire_at(keys[1], last)


def address_sockets_take(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    node = _arg(args, 0)
    limit = _int_arg("address_sockets_take", args, 1, "limit", 0)
    ttl_ms = _int_arg("address_sockets_take", args, 2, "ttl_ms", 1)
    expiry = _drop_expired_members(ks, keys)
    counts = ks.hash(keys[1])
    total = sum(int(count) for count in counts.values())
    if total + 1 > limit:
        ks.drop_if_empty(keys[0])
        ks.drop_if_empty(keys[1])
        return -1
    counts[node] = str(int(counts.get(node, b"0")) + 1).encode()
    expiry[node] = ks.now_ms() + ttl_ms
    _expire_at_last(ks, keys, expiry)
    return total + 1


def address_sockets_release(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    node = _arg(args, 0)
    counts = ks.hash(keys[1])
    count = int(counts.get(node, b"0"))
    if count <= 1:
        counts.pop(node, None)
        ks.zset(keys[0]).pop(node, None)
        ks.drop_if_empty(keys[0])
        ks.drop_if_empty(keys[1])
        return 0
    counts[node] = str(count - 1).encode()
    return count - 1


def address_sockets_renew(ks: MemoryKeyspace, keys: list[str], args: list[bytes]) -> int:
    node = _arg(args, 0)
    ttl_ms = _int_arg("address_sockets_renew", args, 1, "ttl_ms", 1)
    counts = ks.hash(keys[1])
    if node not in counts:
        ks.drop_if_empty(keys[1])
        return 0
    expiry = ks.zset(keys[0])
    expiry[node] = ks.now_ms() + ttl_ms
    _expire_at_last(ks, keys, expiry)
    return 1


SCRIPTS: dict[str, MemoryScript] = {
    "incr_capped": incr_capped,
    "decr_floor": decr_floor,
    "queue_push": queue_push,
    "queue_remove": queue_remove,
    "queue_position": queue_position,
    "claim_from_queue": claim_from_queue,
    "claim_member": claim_member,
    "take_slot": take_slot,
    "hash_all": hash_all,
    "counter_get": counter_get,
    "login_attempt": login_attempt,
    "hash_set": hash_set,
    "release_load": release_load,
    "presence_set": presence_set,
    "presence_set_many": presence_set_many,
    "presence_remove": presence_remove,
    "presence_members": presence_members,
    "address_sockets_take": address_sockets_take,
    "address_sockets_release": address_sockets_release,
    "address_sockets_renew": address_sockets_renew,
}
"""Script name -> Python twin; the names match the files in server/broker/lua/."""
