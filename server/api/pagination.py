"""Opaque cursors for list endpoints: `{"items": [...], "next_cursor": null | "..."}`."""

from __future__ import annotations

import base64
from typing import Any

from server.errors import ApiError


def _bad_cursor() -> ApiError:
    return ApiError(
        "validation_failed",
        "the query string is not valid",
        details=[{"path": "cursor", "message": "not a cursor this list gave out"}],
    )


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise _bad_cursor() from None


def page(items: list[dict[str, Any]], limit: int, key: str = "id") -> dict[str, Any]:
    """Build a page from `limit + 1` fetched rows (the extra one says more exist)."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(items[-1][key]) if more else None}


def encode_ts_cursor(ts: int, row_id: str) -> str:
    """A cursor for lists ordered newest first by (timestamp, id)."""
    return encode_cursor(f"{ts}:{row_id}")


def decode_ts_cursor(cursor: str | None) -> tuple[int, str] | None:
    raw = decode_cursor(cursor)
    if raw is None:
        return None
    ts, _, row_id = raw.partition(":")
    if not (ts.isascii() and ts.isdigit()) or len(ts) > 16 or not row_id:
        raise _bad_cursor()
    return int(ts), row_id


def ts_page(items: list[dict[str, Any]], limit: int, ts_key: str) -> dict[str, Any]:
    more = len(items) > limit
    items = items[:limit]
    cursor = encode_ts_cursor(items[-1][ts_key], items[-1]["id"]) if more and items else None
    return {"items": items, "next_cursor": cursor}
