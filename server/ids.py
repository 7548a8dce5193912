"""Identifiers and wall-clock time at the edge (the engine gets `now` passed in)."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    """An opaque, unguessable id such as `st_3kq9…` (prefix says what it names)."""
    return f"{prefix}_{secrets.token_urlsafe(12).replace('-', 'x').replace('_', 'y')}"


def now_ms() -> int:
    """Milliseconds since the epoch (UTC), the unit of every timestamp on the wire."""
    return time.time_ns() // 1_000_000
