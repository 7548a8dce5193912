"""`/sites` and `/sites/{site_id}`."""

from __future__ import annotations

import secrets
from typing import Any

from server.api.access import site_for
from server.api.models import SiteCreate, SiteOut, SitePatch
from server.api.pagination import decode_cursor, page
from server.api.query import Page
from server.api.router import ANY_ROLE, ApiRouter, Context
from server.hub.access_events import publish_access_to_admins
from server.sites import create_site, site_out
from server.store import sites as site_queries

routes = ApiRouter()
ADMIN = frozenset({"admin"})


@routes.route("GET", "/sites", roles=ANY_ROLE, query=Page, tags=["sites"])
async def list_sites(ctx: Context) -> dict[str, Any]:
    """Sites the caller belongs to (all of them for admins), paginated."""
    args: Page = ctx.args
    limit = args.limit
    async with ctx.services.db.read() as conn:
        rows = await site_queries.list_sites(
            conn,
            member_id=None if ctx.user.is_admin else ctx.user.id,
            after_id=decode_cursor(args.cursor),
            limit=limit + 1,
        )
    base = ctx.services.settings.base_url
    result = page(rows, limit)
    result["items"] = [site_out(r, base, with_secret=ctx.user.is_admin) for r in result["items"]]
    return result


@routes.route(
    "POST", "/sites", roles=ADMIN, body=SiteCreate, response=SiteOut, status=201, tags=["sites"]
)
async def post_site(ctx: Context) -> dict[str, Any]:
    """Create a site; the answer carries its key and the snippet to paste."""
    row = await create_site(ctx.services.db, ctx.body)
    await publish_access_to_admins(ctx.request.app.state.hub, ctx.services.db)
    return site_out(row, ctx.services.settings.base_url, with_secret=True)


@routes.route("GET", "/sites/{site_id}", roles=ANY_ROLE, response=SiteOut, tags=["sites"])
async def get_site(ctx: Context) -> dict[str, Any]:
    """One site (agents and marketers: only their own)."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    return site_out(site, ctx.services.settings.base_url, with_secret=ctx.user.is_admin)


@routes.route(
    "PATCH", "/sites/{site_id}", roles=ADMIN, body=SitePatch, response=SiteOut, tags=["sites"]
)
async def patch_site(ctx: Context) -> dict[str, Any]:
    """Change a site's settings; `rotate_identity_secret` issues a new identity secret."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    patch: SitePatch = ctx.body
    values: dict[str, Any] = {}
    fields = patch.model_fields_set - {"rotate_identity_secret", "languages", "settings"}
    for name in fields:
        value = getattr(patch, name)
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json", by_alias=True)
        elif isinstance(value, list):
            value = list(dict.fromkeys(value))
        values[name] = value
    if "settings" in patch.model_fields_set or "languages" in patch.model_fields_set:
        merged = dict(site["settings"] or {})
        if patch.settings is not None:
            # Only the options sent: the others keep their values (the admin saves a
            # few at a time; defaults must not overwrite the rest).
            merged.update(patch.settings.model_dump(mode="json", exclude_unset=True))
        if patch.languages is not None:
            merged["languages"] = patch.languages
        values["settings"] = merged
    if patch.rotate_identity_secret:
        values["identity_secret"] = secrets.token_hex(32)
    async with ctx.services.db.write() as conn:
        await site_queries.update_site(conn, site["id"], values)
        site = await site_queries.get_site(conn, site["id"])
    assert site is not None
    sites_by_key = getattr(ctx.request.app.state, "sites_by_key", None)
    if sites_by_key is not None:  # visitor sockets look sites up by key on every node
        await sites_by_key.announce(ctx.services.broker, site["key"])
    return site_out(site, ctx.services.settings.base_url, with_secret=True)
