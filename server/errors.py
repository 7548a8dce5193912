"""Errors that become a JSON answer: `{"error": {"code", "message", "details?"}}`.

The codes are those of the wire protocol (`invalid_frame` is the socket twin of
`invalid_request`). Handlers raise `ApiError`; nothing else reaches a client as text.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

STATUS_BY_CODE = {
    "invalid_request": 400,
    "invalid_json": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "too_large": 413,
    "unsupported_media_type": 415,
    "validation_failed": 422,
    "rate_limited": 429,
    "internal": 500,
    "unavailable": 503,
}


class ApiError(Exception):
    """An expected failure with a stable code; `status` defaults from the code."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_BY_CODE[code]
        self.details = details
        self.headers = headers or {}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def error_response(exc: ApiError) -> Response:
    return Response(
        orjson.dumps(error_body(exc.code, exc.message, exc.details)),
        status_code=exc.status,
        media_type="application/json",
        headers=exc.headers,
    )


def first_line(exc: BaseException, limit: int = 300) -> str:
    """One line describing an exception, for operators and JSON reasons."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:limit]
