"""The one exception the wire layer raises for a bad inbound frame.

The socket layer answers it with `{"type": "error", "code", "message", "ref"?}`
(see `codec.error_frame`) and keeps the connection open (protocol.md, Errors).
"""

from __future__ import annotations

# protocol.md, "Errors": the codes a client may see. Checked at construction so a
# typo in a raise site fails loudly in tests instead of reaching a client.
FRAME_ERROR_CODES = frozenset(
    {
        "invalid_frame",
        "unknown_type",
        "too_large",
        "rate_limited",
        "limit_reached",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "unavailable",
        "internal",
    }
)


class FrameError(Exception):
    """A frame the server rejects with an `error` reply.

    `code` is one of `FRAME_ERROR_CODES`; `message` is a short human sentence that
    names the offending field (`field 'text' is required`); `ref` is the client's
    `ref` when it could be read from the frame, else None.
    """

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        if code not in FRAME_ERROR_CODES:
            raise ValueError(f"unknown frame error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref

    def __repr__(self) -> str:
        return f"FrameError({self.code!r}, {self.message!r}, ref={self.ref!r})"
