"""Attachment endpoints: upload into a conversation, fresh URLs, and the download path.

Who may: the conversation's visitor (its visitor token in `X-Visitor-Token`) or an agent
or admin of its site (session or API token). Anyone else — another visitor, another
site's agent — gets 404, the same answer as for a conversation that does not exist.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.access import site_for
from server.api.router import PUBLIC, ApiRouter, Context, _json
from server.chat import visitor_token
from server.errors import ApiError, error_response
from server.ids import now_ms
from server.media.cors import allowed_origin, preflight_routes, with_cors
from server.media.images import THUMB_MIME
from server.media.kinds import RASTER_IMAGES, site_allowed
from server.media.signing import BadSignature, Expired, verify
from server.media.storage import MediaNotFound, MediaUnavailable
from server.media.uploads import Media, Upload, object_key, read_limited
from server.store import attachments as queries
from server.store import conversations as conv_queries
from server.store import sites as site_queries

VISITOR_HEADER = "x-visitor-token"
MAX_DECLARED_NAME = 1000
# What a downloaded file may do if a browser renders it anyway: nothing.
DOWNLOAD_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"

routes = ApiRouter()


def media_of(request: Request) -> Media:
    return request.app.state.media


async def _caller(ctx: Context, conversation_id: str) -> tuple[dict[str, Any], str, str]:
    """(conversation, sender, URL principal) for the caller, or not_found."""
    async with ctx.services.db.read() as conn:
        conversation = await conv_queries.get_conversation(conn, conversation_id)
    if conversation is None:
        raise ApiError("not_found", "no such conversation")
    if ctx.principal is not None:
        try:
            await site_for(ctx.services.db, ctx.principal, conversation["site_id"])
        except ApiError:
            raise ApiError("not_found", "no such conversation") from None
        return conversation, f"a:{ctx.principal.id}", f"s:{conversation['site_id']}"
    token = ctx.request.headers.get(VISITOR_HEADER, "")
    if not token:
        raise ApiError("unauthorized", f"send the visitor token in {VISITOR_HEADER}, or sign in")
    key = ctx.services.settings.secret_key.encode()
    visitor_id = visitor_token.verify(key, token, conversation["site_id"], now_ms())
    if visitor_id is None or visitor_id != conversation["visitor_id"]:
        raise ApiError("not_found", "no such conversation")
    return conversation, f"v:{visitor_id}", f"v:{visitor_id}"


@routes.route(
    "PUT",
    "/conversations/{conversation_id}/attachments/{upload_id}",
    roles=PUBLIC,
    summary="Upload a file into a conversation (raw body; ?name= the file's name)",
    tags=["attachments"],
    status=201,
)
async def upload(ctx: Context) -> Any:
    return await _answer_with_cors(ctx, _upload)


async def _upload(ctx: Context) -> Any:
    conversation, sender, principal = await _caller(ctx, ctx.params["conversation_id"])
    if conversation["status"] == "closed":
        raise ApiError("conflict", "the conversation is closed")
    media = media_of(ctx.request)
    request = Upload(
        site_id=conversation["site_id"],
        conversation_id=conversation["id"],
        sender=sender,
        upload_id=ctx.params["upload_id"],
        declared_name=ctx.request.query_params.get("name", "")[:MAX_DECLARED_NAME],
    )
    # A retry of a stored upload is answered without reading its body again.
    row = await media.find(request)
    created = False
    if row is None:
        data = await read_limited(ctx.request, media.settings.media_max_bytes)
        async with ctx.services.db.read() as conn:
            site = await site_queries.get_site(conn, conversation["site_id"])
        entries = ((site or {}).get("settings") or {}).get("attachments_allowed")
        allowed = site_allowed(media.settings.media_types, entries)
        row, created = await media.accept(request, data, allowed)
    view = {"attachment": media.view(row, principal, int(time.time()))}
    return _json(view, 201 if created else 200)


@routes.route(
    "GET",
    "/conversations/{conversation_id}/attachments/{attachment_id}",
    roles=PUBLIC,
    summary="An attachment's details with freshly signed URLs",
    tags=["attachments"],
)
async def details(ctx: Context) -> Any:
    return await _answer_with_cors(ctx, _details)


async def _details(ctx: Context) -> Any:
    conversation, _sender, principal = await _caller(ctx, ctx.params["conversation_id"])
    async with ctx.services.db.read() as conn:
        row = await queries.get_attachment(conn, ctx.params["attachment_id"])
        if row is None or row["conversation_id"] != conversation["id"]:
            raise ApiError("not_found", "no such attachment")
        if principal.startswith("v:") and not await queries.shown_to_visitor(
            conn, row, conversation["visitor_id"]
        ):
            raise ApiError("not_found", "no such attachment")
    return _json({"attachment": media_of(ctx.request).view(row, principal, int(time.time()))}, 200)


async def _answer_with_cors(ctx: Context, handler: Any) -> Any:
    """`handler`'s answer — its errors too — with CORS for the site's allowed origin: the
    widget reads why an upload was refused (413, 415…) instead of seeing a network
    error. An unknown conversation has no site, so no origin is allowed for it."""
    origin = await allowed_origin(ctx.request, ctx.params["conversation_id"])
    try:
        answer = await handler(ctx)
    except ApiError as exc:
        return with_cors(error_response(exc), origin)
    return with_cors(answer, origin)


async def download(request: Request) -> Response:
    """GET /media/{attachment_id}/{variant}?p&e&s — the stored bytes, served inert."""
    try:
        return await _download(request)
    except ApiError as exc:
        response = error_response(exc)
        response.headers["Cache-Control"] = "no-store"
        return response


async def _download(request: Request) -> Response:
    media = media_of(request)
    attachment_id = request.path_params["attachment_id"]
    variant = request.path_params["variant"]
    not_found = ApiError("not_found", "no such attachment")
    try:
        grant = verify(
            media.settings.secret_key,
            attachment_id,
            variant,
            dict(request.query_params),
            int(time.time()),
        )
    except BadSignature:
        raise not_found from None
    except Expired:
        raise ApiError("gone", "the link has expired; ask for a new one", status=410) from None
    async with media.db.read() as conn:
        row = await queries.get_attachment(conn, attachment_id)
        conversation = (
            await conv_queries.get_conversation(conn, row["conversation_id"]) if row else None
        )
        if row is None or conversation is None or not _may_read(grant.principal, conversation):
            raise not_found
        if grant.principal.startswith("v:") and not await queries.shown_to_visitor(
            conn, row, conversation["visitor_id"]
        ):
            raise not_found
    if variant == "thumb" and not row["has_thumb"]:
        raise not_found
    try:
        data = await media.storage.get(object_key(row, variant))
    except MediaNotFound:
        raise not_found from None
    except MediaUnavailable:
        raise ApiError("unavailable", "file storage is unavailable; retry shortly") from None
    return Response(
        data, 200, _download_headers(row, variant), media_type=_served_type(row, variant)
    )


def _may_read(principal: str, conversation: dict[str, Any]) -> bool:
    kind, _, ident = principal.partition(":")
    if kind == "v":
        return ident == conversation["visitor_id"]
    return kind == "s" and ident == conversation["site_id"]


def _served_type(row: dict[str, Any], variant: str) -> str:
    return THUMB_MIME if variant == "thumb" else row["mime"]


def _download_headers(row: dict[str, Any], variant: str) -> dict[str, str]:
    inline = row["mime"] in RASTER_IMAGES
    name = row["name"] if variant == "original" else f"thumb-{row['name']}"
    # RFC 6266 / 5987: an ASCII fallback and the exact UTF-8 name.
    fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace("\\", "_")
    disposition = "inline" if inline else "attachment"
    return {
        "Content-Disposition": f'{disposition}; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, max-age=300",
    }


def media_routes() -> list[Route]:
    return [
        Route("/media/{attachment_id}/{variant}", download, methods=["GET"]),
        *preflight_routes(),
    ]
