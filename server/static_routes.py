"""Files served to browsers: the widget, the console, the admin and the demo page."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.services import Services
from server.sites import snippet
from server.store import sites as site_queries
from server.widget_asset import LANG_CACHE, LONG_CACHE, SHORT_CACHE, WidgetAsset, respond

DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Beckon demo shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Beckon demo shop</h1>
<p>This page carries the site's snippet. Open the agent console in another window and
start a chat from the bubble.</p>
{snippet}
</body></html>
"""


# The console's and the admin's policy as a header too (frame-ancestors only works there).
PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
        "object-src 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def with_headers(app: ASGIApp, headers: dict[str, str]) -> ASGIApp:
    """Wrap an ASGI app so every HTTP response it sends carries `headers`."""
    extra = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped


def static_routes(root: Path) -> list[BaseRoute]:
    asset = WidgetAsset(root / "widget")
    js = "text/javascript; charset=utf-8"

    async def widget(request: Request) -> Response:
        return respond(request, asset.current().script, js, SHORT_CACHE)

    async def widget_versioned(request: Request) -> Response:
        script = asset.current().script
        if request.path_params["digest"] != script.digest:
            # An old build: not cacheable forever under this name; the current one is.
            return Response("/* unknown widget version */", 404, media_type=js)
        return respond(request, script, js, LONG_CACHE)

    async def widget_lang(request: Request) -> Response:
        lang = asset.current().langs.get(request.path_params["lang"])
        if lang is None:
            return Response("{}", 404, media_type="application/json")
        return respond(request, lang, "application/json; charset=utf-8", LANG_CACHE)

    async def demo(request: Request) -> Response:
        services: Services = request.app.state.services
        key = request.query_params.get("site", "")
        async with services.db.read() as conn:
            site = await site_queries.get_site_by_key(conn, key) if key else None
            if site is None:
                rows = await site_queries.list_sites(conn, member_id=None, after_id=None, limit=1)
                site = rows[0] if rows else None
        if site is None:
            return HTMLResponse("<p>No site yet: run <code>beckon create-site</code>.</p>", 404)
        return HTMLResponse(DEMO_PAGE.format(snippet=snippet(site["key"], _origin(request))))

    routes: list[BaseRoute] = [
        Route("/widget.js", widget),
        Route("/widget.{digest}.js", widget_versioned),
        Route("/widget/i18n/{lang}.json", widget_lang),
        Route("/demo/", demo),
        Route("/", lambda _r: RedirectResponse("/agent/")),
    ]
    for name in ("agent", "admin", "vendor"):
        folder = root / "static" / name
        if folder.is_dir():
            app = StaticFiles(directory=folder, html=True)
            routes.append(Mount(f"/{name}", with_headers(app, PAGE_HEADERS), name=name))
    return routes


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"
