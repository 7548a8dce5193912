"""`POST /api/v1/mail/inbound`: a raw email in, signed (docs/protocol.md, "Mail in").

Not an ApiRouter endpoint: its body is a whole email (up to BECKON_MAIL_MAX_BYTES,
larger than a REST body may be), read here with its own bound and checked against
`X-Beckon-Signature` before anything is parsed.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.errors import ApiError
from server.mail.incoming import deliver, inbound_key, signature_ok

log = logging.getLogger("beckon.mail")
PATH = "/api/v1/mail/inbound"


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError("too_large", f"an email may be at most {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError("too_large", f"an email may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def inbound_mail(request: Request) -> Response:
    state = request.app.state
    settings = state.services.settings
    body = await _body(request, settings.mail_max_bytes)
    if not signature_ok(inbound_key(settings), body, request.headers.get("x-beckon-signature", "")):
        log.warning("inbound email refused: missing or bad X-Beckon-Signature")
        raise ApiError("unauthorized", "missing or bad X-Beckon-Signature")
    rcpts = [r.strip() for r in request.headers.get("x-beckon-rcpt-to", "").split(",") if r.strip()]
    result = await deliver(state.services.db, state.hub, state.events, settings, body, rcpts)
    return JSONResponse(result)


def mail_inbound_routes() -> list[Route]:
    """The inbound endpoint, and the page account-email links open."""
    from server.mail.account import PASSWORD_PAGE
    from server.mail.password_page import password_page

    return [
        Route(PATH, inbound_mail, methods=["POST"]),
        Route(PASSWORD_PAGE, password_page, methods=["GET"]),
    ]
