"""The Lua scripts shipped in server/broker/lua/, read once with their SHA1.

Each file is one atomic operation; its header names its KEYS and ARGV and what it
returns (style habit 4). The memory backend mirrors each one in memory_scripts.py.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class LuaScript:
    name: str
    source: bytes
    sha: str
    """SHA1 of `source`, hex: what EVALSHA needs (Redis computes the same)."""
    key_count: int
    """How many KEYS the header names."""
    arg_count: int
    """How many ARGV the header names (before the repeated rest, if any)."""
    more_args: bool = False
    """The header ends with `-- ARGV[n..]`: any number of ARGV may follow the named ones."""

    def check_arity(self, keys: list[str], args: list[object]) -> None:
        """Raise ValueError unless `keys` and `args` match the script's header."""
        args_fit = len(args) >= self.arg_count if self.more_args else len(args) == self.arg_count
        if len(keys) != self.key_count or not args_fit:
            at_least = "at least " if self.more_args else ""
            raise ValueError(
                f"script {self.name!r} takes {self.key_count} KEYS and {at_least}"
                f"{self.arg_count} ARGV, got {len(keys)} and {len(args)}"
            )


_HEADER_ITEM = re.compile(rb"^-- (KEYS|ARGV)\[(\d+)\]", re.MULTILINE)
_HEADER_MORE_ARGS = re.compile(rb"^-- ARGV\[\d+\.\.\]", re.MULTILINE)


def _header(source: bytes) -> bytes:
    """The leading comment lines of a script."""
    header_lines = []
    for line in source.splitlines():
        if not line.startswith(b"--"):
            break
        header_lines.append(line)
    return b"\n".join(header_lines)


def _count_header_items(source: bytes) -> tuple[int, int]:
    """(KEYS count, ARGV count) named in the header comment (lines `-- KEYS[n] ...`)."""
    counts = {b"KEYS": 0, b"ARGV": 0}
    for kind, index in _HEADER_ITEM.findall(_header(source)):
        counts[kind] = max(counts[kind], int(index))
    return counts[b"KEYS"], counts[b"ARGV"]


def load_lua_scripts() -> dict[str, LuaScript]:
    """Read every lua/<name>.lua packaged with server.broker, keyed by name."""
    scripts: dict[str, LuaScript] = {}
    for entry in resources.files("server.broker").joinpath("lua").iterdir():
        if entry.name.endswith(".lua"):
            source = entry.read_bytes()
            name = entry.name.removesuffix(".lua")
            key_count, arg_count = _count_header_items(source)
            more_args = _HEADER_MORE_ARGS.search(_header(source)) is not None
            sha = hashlib.sha1(source).hexdigest()
            scripts[name] = LuaScript(name, source, sha, key_count, arg_count, more_args)
    return scripts
