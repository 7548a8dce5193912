"""Cross-origin uploads from the widget: the shop's page (an allowed origin of the
conversation's site) may PUT a file and GET an attachment's URLs with its visitor token.

Only these two endpoints answer CORS, and only for the origins the site allows on its
visitor socket; no cookies are involved (`X-Visitor-Token` is a header), so no
`Access-Control-Allow-Credentials`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.router import PATH_PARAM
from server.errors import ApiError, error_response
from server.hub.origins import origin_allowed
from server.store import conversations as conv_queries
from server.store import sites as site_queries

PREFLIGHT_MAX_AGE_S = 600


async def allowed_origin(request: Request, conversation_id: str) -> str | None:
    """The request's Origin if the conversation's site allows it; else None."""
    origin = request.headers.get("origin")
    if not origin:
        return None
    db = request.app.state.services.db
    async with db.read() as conn:
        conversation = await conv_queries.get_conversation(conn, conversation_id)
        site = await site_queries.get_site(conn, conversation["site_id"]) if conversation else None
    if site is None or not origin_allowed(origin, list(site["allowed_origins"] or [])):
        return None
    return origin


def cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def preflight(request: Request) -> Response:
    conversation_id = request.path_params["conversation_id"]
    if not PATH_PARAM.match(conversation_id) or not PATH_PARAM.match(request.path_params["item"]):
        return error_response(ApiError("not_found", "no such conversation"))
    origin = await allowed_origin(request, conversation_id)
    if origin is None:
        return error_response(ApiError("forbidden", "origin not allowed"))
    return Response(
        status_code=204,
        headers={
            **cors_headers(origin),
            "Access-Control-Allow-Methods": "PUT, GET",
            "Access-Control-Allow-Headers": "X-Visitor-Token, Content-Type",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
        },
    )


def with_cors(response: Any, origin: str | None) -> Any:
    if origin is not None:
        response.headers.update(cors_headers(origin))
    return response


def preflight_routes() -> list[Route]:
    path = "/api/v1/conversations/{conversation_id}/attachments/{item}"
    return [Route(path, preflight, methods=["OPTIONS"])]
