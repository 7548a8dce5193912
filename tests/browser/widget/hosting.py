"""Host pages for the widget tests: a loopback HTTP server playing "the customer's site"
(its own origin, which the Beckon site must allow; it can also serve the widget itself, as
a CDN would), and a fake Beckon socket server the tests script to send exactly the frames a
state needs (invitations, queue positions, a closed chat with its survey)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import threading
from collections.abc import AsyncIterator, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import websockets

from server.widget_asset import build

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{css}</style>{head}</head>
<body>{body}
<script src="{src}" data-site="{site}"{extra} async></script>
</body></html>
"""

HOSTILE_CSS = """
* { all: unset !important; }
html, body { height: 100% !important; }
html { transform: rotate(0.4deg) !important; zoom: 1; }
body { transform: translateX(3px) scale(1.02) !important; display: block !important; }
style, script, title, head { display: none !important; }
.overlay { position: fixed !important; inset: 0 !important; z-index: 2147483647 !important;
  background: rgba(200, 0, 0, .25) !important; display: block !important; }
"""


def page(
    src: str,
    site: str,
    *,
    title: str = "Host shop",
    css: str = "body{font:16px sans-serif;margin:2rem;min-height:3000px}",
    head: str = "",
    body: str = "<h1>Host shop</h1><p>Products, a cart, a checkout.</p>",
    server: str | None = None,
    servers: list[str] | None = None,
) -> str:
    extra = f' data-server="{html.escape(server)}"' if server else ""
    if servers:
        extra += f' data-servers="{html.escape(" ".join(servers))}"'
    return PAGE.format(
        title=title, css=css, head=head, body=body, src=html.escape(src), site=site, extra=extra
    )


class HostSite:
    """Serves `pages[path]` as HTML, and `files[path]` as (body, content type), from
    http://127.0.0.1:<port> in a thread."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        pages, files = self.pages, self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path in pages:
                    data, kind = pages[path].encode(), "text/html; charset=utf-8"
                elif path in files:
                    data, kind = files[path]
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def serve_widget(self, widget_dir: Path) -> str:
        """Serve the widget built from `widget_dir` (and its languages) from this site, as
        a CDN would; returns the script's URL."""
        built = build(widget_dir)
        self.files["/widget.js"] = (built.script.body, "text/javascript; charset=utf-8")
        self.files[built.more_path] = (built.more.body, "text/javascript; charset=utf-8")
        for code, lang in built.langs.items():
            self.files[f"/widget/i18n/{code}.json"] = (lang.body, "application/json")
        return self.origin + "/widget.js"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.asynccontextmanager
async def fake_beckon(**widget: Any) -> AsyncIterator[FakeBeckon]:
    """A started FakeBeckon welcoming every visitor with `widget` settings."""
    welcome = {"type": "welcome", "visitor_id": "vi_f", "visitor_token": "tok", "online": True}
    fake = FakeBeckon({**welcome, "widget": widget})
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


class FakeBeckon:
    """A scripted visitor socket: answers `hello` with `welcome` and records every frame,
    so a test can inject server frames (invitation, invitation_withdrawn) at will."""

    def __init__(self, welcome: dict[str, Any]) -> None:
        self.welcome = welcome
        self.received: list[dict[str, Any]] = []
        self.sockets: list[Any] = []
        self._changed = asyncio.Event()
        self._server: Any = None
        self.port = 0

    async def start(self) -> None:
        self._server = await websockets.serve(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws: Any) -> None:
        self.sockets.append(ws)
        async for raw in ws:
            frame = orjson.loads(raw)
            self.received.append(frame)
            self._changed.set()
            if frame.get("type") == "hello":
                await ws.send(orjson.dumps(self.welcome).decode())

    async def push(self, frame: dict[str, Any]) -> None:
        for ws in self.sockets:
            await ws.send(orjson.dumps(frame).decode())

    async def expect(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> dict[str, Any]:
        """The first received frame matching, waiting for it if needed."""
        async with asyncio.timeout(timeout):
            while True:
                for frame in self.received:
                    if match(frame):
                        return frame
                self._changed.clear()
                await self._changed.wait()
