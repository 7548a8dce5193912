"""Opaque cursors for list endpoints: `{"items": [...], "next_cursor": null | "..."}`."""

from __future__ import annotations

import base64
from typing import Any

from server.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_request", "cursor is not valid") from None


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError("invalid_request", f"limit must be an integer in 1..{MAX_LIMIT}")
    return int(raw)


def page(items: list[dict[str, Any]], limit: int, key: str = "id") -> dict[str, Any]:
    """Build a page from `limit + 1` fetched rows (the extra one says more exist)."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(items[-1][key]) if more else None}
