"""Files served to browsers: the widget, the console, the admin and the demo shop."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import demo as demo_shop
from server.client_address import scope_scheme
from server.services import Services
from server.web import BrowserFiles
from server.widget_asset import LANG_CACHE, LONG_CACHE, SHORT_CACHE, WidgetAsset, respond

# The console's and the admin's policy as a header too (frame-ancestors only works there).
PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
        "object-src 'none'; frame-src 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}

# The admin's live preview of the widget: the real widget on a page of its own, framed by
# the admin only (same origin), talking to a scripted socket in the page (no server).
PREVIEW_HEADERS = {
    **PAGE_HEADERS,
    "content-security-policy": PAGE_HEADERS["content-security-policy"].replace(
        "frame-ancestors 'none'", "frame-ancestors 'self'"
    ),
    "cache-control": "no-store",
}

# The demo shop runs only its own scripts and the widget, all from this origin: the widget
# works under a strict policy like a careful shop's. No cache: the snippet follows a cookie.
DEMO_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data: https:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}
ASSET_HEADERS = {"x-content-type-options": "nosniff"}


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


def static_routes(browser: BrowserFiles) -> list[BaseRoute]:
    asset = WidgetAsset(browser.widget)
    js = "text/javascript; charset=utf-8"

    async def widget(request: Request) -> Response:
        return respond(request, asset.current().script, js, SHORT_CACHE)

    async def widget_versioned(request: Request) -> Response:
        script = asset.current().script
        if request.path_params["digest"] != script.digest:
            # An old build: not cacheable forever under this name; the current one is.
            return Response("/* unknown widget version */", 404, media_type=js)
        return respond(request, script, js, LONG_CACHE)

    async def widget_more(request: Request) -> Response:
        built = asset.current()
        if request.url.path != built.more_path:
            return Response("/* unknown widget version */", 404, media_type=js)
        return respond(request, built.more, js, LONG_CACHE)

    async def widget_lang(request: Request) -> Response:
        lang = asset.current().langs.get(request.path_params["lang"])
        if lang is None:
            return Response("{}", 404, media_type="application/json")
        return respond(request, lang, "application/json; charset=utf-8", LANG_CACHE)

    demo_dir = browser.static / "demo"

    async def demo(request: Request) -> Response:
        services: Services = request.app.state.services
        asked = request.query_params.get("site") or None
        try:
            async with services.db.read() as conn:
                site, remember = await demo_shop.choose_site(
                    conn, asked, request.cookies.get(demo_shop.SITE_COOKIE)
                )
        except demo_shop.DemoNotFound as exc:
            return HTMLResponse(demo_shop.not_found_page(str(exc)), 404, headers=DEMO_HEADERS)
        try:
            path = demo_shop.page_file(demo_dir, request.path_params.get("page", ""))
        except demo_shop.DemoNotFound as exc:
            body = await demo_shop.render_not_found(demo_dir, site, _origin(request), str(exc))
            return HTMLResponse(body, 404, headers=DEMO_HEADERS)
        body = await demo_shop.render(demo_dir, path, site, _origin(request))
        response = HTMLResponse(body, headers=DEMO_HEADERS)
        if remember:
            response.set_cookie(
                demo_shop.SITE_COOKIE, site["key"], path="/demo", httponly=True, samesite="lax"
            )
        return response

    preview_file = browser.static / "admin" / "preview.html"

    async def widget_preview(_request: Request) -> Response:
        return HTMLResponse(preview_file.read_text("utf-8"), headers=PREVIEW_HEADERS)

    routes: list[BaseRoute] = [
        Route("/widget.js", widget),
        Route("/admin/widget-preview", widget_preview),
        Route("/widget.{digest}.js", widget_versioned),
        Route("/widget-more.{digest}.js", widget_more),
        Route("/widget/i18n/{lang}.json", widget_lang),
        Route("/demo", lambda _r: RedirectResponse("/demo/")),
        Mount(
            "/demo/assets",
            with_headers(StaticFiles(directory=demo_dir / "assets"), ASSET_HEADERS),
            name="demo-assets",
        ),
        Route("/demo/{page:path}", demo),
        Route("/", lambda _r: RedirectResponse("/agent/")),
    ]
    for name in ("agent", "admin", "vendor"):
        folder = browser.static / name
        if folder.is_dir():
            app = StaticFiles(directory=folder, html=True)
            routes.append(Mount(f"/{name}", with_headers(app, PAGE_HEADERS), name=name))
    return routes


def _origin(request: Request) -> str:
    # Behind a TLS-ending proxy the page was https even though this hop is http: the
    # widget URL in it must be https too, or the browser blocks it as mixed content.
    trusted = request.app.state.services.settings.trusted_proxies
    return f"{scope_scheme(request.scope, trusted)}://{request.url.netloc}"
