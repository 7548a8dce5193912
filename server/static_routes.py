"""Files served to browsers: the widget, the console, the admin and the demo page."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from server.services import Services
from server.sites import snippet
from server.store import sites as site_queries

DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Beckon demo shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Beckon demo shop</h1>
<p>This page carries the site's snippet. Open the agent console in another window and
start a chat from the bubble.</p>
{snippet}
</body></html>
"""


def static_routes(root: Path) -> list[BaseRoute]:
    widget_js = root / "widget" / "widget.js"

    async def widget(_request: Request) -> Response:
        if not widget_js.exists():
            return Response("/* widget not built */", 404, media_type="text/javascript")
        return Response(
            widget_js.read_bytes(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=300"},
        )

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
        Route("/demo/", demo),
        Route("/", lambda _r: RedirectResponse("/agent/")),
    ]
    for name in ("agent", "admin", "vendor"):
        folder = root / "static" / name
        if folder.is_dir():
            routes.append(Mount(f"/{name}", StaticFiles(directory=folder, html=True), name=name))
    return routes


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"
