"""`/me/profile` and `/me/avatar`: an agent's own display name, title and avatar; and
`GET /avatars/{user_id}/{file}`, where the avatar is served to consoles and widgets.

The avatar's URL names a digest of its bytes: a new upload is a new URL, so the image
is cached for a year (`immutable`) and the widget's header never shows a stale one.
The name, title and avatar reach visitors in `conversation` frames (`agent`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.models import Strict, unset
from server.api.router import ANY_ROLE, PATH_PARAM, ApiRouter, Context
from server.errors import ApiError, error_response
from server.hub.access_events import publish_access_changed
from server.ids import now_ms
from server.media.kinds import RefusedFile
from server.media.uploads import REFUSAL_STATUS, read_limited
from server.profile.avatar import prepare
from server.store import avatars as avatar_queries
from server.store import users as user_queries

routes = ApiRouter()
AVATAR_CACHE = "public, max-age=31536000, immutable"

DisplayName = Annotated[str, Field(min_length=1, max_length=100)]
Title = Annotated[str, Field(max_length=80)]


class ProfilePatch(Strict):
    display_name: DisplayName = unset()
    title: Title | None = None  # null or "": no title


def profile_of(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "display_name": user["display_name"],
        "title": user.get("title"),
        "avatar_url": user.get("avatar_url"),
    }


async def _changed(ctx: Context) -> dict[str, Any]:
    """The profile as stored now. The user's open agent sockets re-read their user (the
    `access` notice), so the name on their next messages and accepts is the new one."""
    await publish_access_changed(ctx.request.app.state.hub, ctx.user.id)
    return await _reread(ctx)


async def _reread(ctx: Context) -> dict[str, Any]:
    async with ctx.services.db.read() as conn:
        user = await user_queries.get_user(conn, ctx.user.id)
    if user is None:  # deleted while the request ran
        raise ApiError("not_found", "no such user")
    return profile_of(user)


@routes.route("GET", "/me/profile", roles=ANY_ROLE, tags=["profile"])
async def get_profile(ctx: Context) -> dict[str, Any]:
    """Your display name, title and avatar URL (as visitors see them)."""
    return await _reread(ctx)


@routes.route("PATCH", "/me/profile", roles=ANY_ROLE, body=ProfilePatch, tags=["profile"])
async def patch_profile(ctx: Context) -> dict[str, Any]:
    """Change your display name and title; chats see them from their next frame."""
    body: ProfilePatch = ctx.body
    values: dict[str, Any] = {}
    if "display_name" in body.model_fields_set:
        values["display_name"] = body.display_name
    if "title" in body.model_fields_set:
        values["title"] = body.title or None
    async with ctx.services.db.write() as conn:
        await user_queries.update_user(conn, ctx.user.id, values)
    return await _changed(ctx)


@routes.route(
    "PUT",
    "/me/avatar",
    roles=ANY_ROLE,
    summary="Upload your avatar (raw body: a PNG, JPEG, GIF or WebP image)",
    tags=["profile"],
)
async def put_avatar(ctx: Context) -> dict[str, Any]:
    settings = ctx.services.settings
    data = await read_limited(ctx.request, settings.avatar_max_bytes)
    try:
        avatar = await asyncio.to_thread(prepare, data, settings.media_max_pixels)
    except RefusedFile as refused:
        raise ApiError(refused.code, str(refused), status=REFUSAL_STATUS[refused.code]) from None
    user_id = ctx.user.id
    url = f"{settings.base_url}/avatars/{user_id}/{avatar.file_name}"
    async with ctx.services.db.write() as conn:
        await avatar_queries.put_avatar(
            conn,
            {
                "user_id": user_id,
                "digest": avatar.digest,
                "mime": avatar.mime,
                "data": avatar.data,
                "updated_ts": now_ms(),
            },
        )
        await user_queries.update_user(conn, user_id, {"avatar_url": url})
    return await _changed(ctx)


@routes.route("DELETE", "/me/avatar", roles=ANY_ROLE, tags=["profile"])
async def delete_avatar(ctx: Context) -> dict[str, Any]:
    """Remove your avatar: visitors see your initial again."""
    async with ctx.services.db.write() as conn:
        await avatar_queries.delete_avatar(conn, ctx.user.id)
        await user_queries.update_user(conn, ctx.user.id, {"avatar_url": None})
    return await _changed(ctx)


async def serve_avatar(request: Request) -> Response:
    """GET /avatars/{user_id}/{digest}.{ext} — the current avatar, cached for good."""
    not_found = ApiError("not_found", "no such avatar")
    digest = request.path_params["file"].partition(".")[0]
    user_id = request.path_params["user_id"]
    try:
        if not (PATH_PARAM.match(user_id) and PATH_PARAM.match(digest)):
            raise not_found  # a NUL byte must not reach PostgreSQL
        async with request.app.state.services.db.read() as conn:
            row = await avatar_queries.get_avatar(conn, user_id)
        if row is None or row["digest"] != digest:
            raise not_found
    except ApiError as exc:
        response = error_response(exc)
        response.headers["Cache-Control"] = "no-store"
        return response
    headers = {
        "Cache-Control": AVATAR_CACHE,
        "ETag": f'"{digest}"',
        "X-Content-Type-Options": "nosniff",
        # Widgets on the sites' own origins show it.
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if request.headers.get("if-none-match") == f'"{digest}"':
        return Response(status_code=304, headers=headers)
    return Response(bytes(row["data"]), media_type=row["mime"], headers=headers)


def avatar_routes() -> list[Route]:
    return [Route("/avatars/{user_id}/{file}", serve_avatar, methods=["GET"])]
