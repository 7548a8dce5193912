"""Creating and presenting sites; shared by the REST API, the CLI and first-run setup."""

from __future__ import annotations

import html
import secrets
from typing import Any

from server.announced_cache import AnnouncedCache
from server.api.models import SiteCreate
from server.ids import new_id, now_ms
from server.store import sites as site_queries
from server.store.database import Database


def snippet(site_key: str, base_url: str) -> str:
    """The one line a site owner pastes into their pages."""
    src = html.escape(f"{base_url}/widget.js", quote=True)
    key = html.escape(site_key, quote=True)
    return f'<script src="{src}" data-site="{key}" async></script>'


def site_row(spec: SiteCreate) -> dict[str, Any]:
    return {
        "id": new_id("st"),
        "key": "sk_" + secrets.token_urlsafe(16),
        "name": spec.name,
        "allowed_origins": list(spec.allowed_origins),
        "identity_secret": secrets.token_hex(32),
        "timezone": spec.timezone,
        "default_lang": spec.default_lang,
        "widget": spec.widget.model_dump(mode="json"),
        "departments": list(dict.fromkeys(spec.departments)),
        "business_hours": (
            spec.business_hours.model_dump(mode="json", by_alias=True)
            if spec.business_hours
            else None
        ),
        "settings": {**spec.settings.model_dump(mode="json"), "languages": spec.languages},
        "created_ts": now_ms(),
    }


async def create_site(db: Database, spec: SiteCreate) -> dict[str, Any]:
    row = site_row(spec)
    async with db.write() as conn:
        await site_queries.insert_site(conn, row)
    return row


def site_out(site: dict[str, Any], base_url: str, *, with_secret: bool) -> dict[str, Any]:
    settings = dict(site["settings"] or {})
    languages = settings.pop("languages", [])
    return {
        "id": site["id"],
        "key": site["key"],
        "name": site["name"],
        "allowed_origins": site["allowed_origins"],
        "timezone": site["timezone"],
        "default_lang": site["default_lang"],
        "languages": languages,
        "widget": site["widget"],
        "departments": site["departments"],
        "business_hours": site["business_hours"],
        "settings": settings,
        "identity_secret": site["identity_secret"] if with_secret else None,
        "created_ts": site["created_ts"],
        "snippet": snippet(site["key"], base_url),
    }


SITES_CHANNEL = "sites-changed"  # payload: the site's key, as bytes


def site_cache(db: Database) -> AnnouncedCache[dict[str, Any] | None]:
    """Sites by key, for visitor sockets (a lookup on every page load). Callers must not
    change the rows they get: they are shared."""

    async def load(key: str) -> dict[str, Any] | None:
        async with db.read() as conn:
            return await site_queries.get_site_by_key(conn, key)

    return AnnouncedCache(SITES_CHANNEL, load)
