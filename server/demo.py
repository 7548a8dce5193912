"""The demo shop at `/demo/`: plain pages from `static/demo/` with a site's snippet
put in, and the invitation rule that first-run setup gives the demo site.

Which site's snippet: `?site=KEY` (remembered in a cookie for the next pages), else the
cookie's site, else the first site. A page is `static/demo/<name>.html` for a name made
of lowercase letters, digits and dashes, at most one folder deep; anything else is a 404
page in the shop's layout (with the widget, which sees the error), and an unknown
`?site=` key a bare 404 page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncConnection

from server.sites import snippet
from server.store import rules as rule_queries
from server.store import sites as site_queries
from server.store.database import Database

SITE_COOKIE = "beckon_demo_site"
SNIPPET_MARK = "<!--beckon:snippet-->"
SITE_NAME_MARK = "<!--beckon:site-->"
TITLE_MARK = "<!--beckon:title-->"
MAIN_MARK = "<!--beckon:main-->"
LAYOUT = "_layout.html"  # not a page: page names cannot start with "_"
_TITLE_LINE = re.compile(r"<!-- title: (.+?) -->\n")
_PAGE_NAME = re.compile(r"^[a-z0-9-]{1,40}(?:/[a-z0-9-]{1,40})?$")
_SITE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,100}$")

# Fires on the demo checkout with something in the cart after a few seconds on the page,
# so a new user sees an invitation right after `beckon serve` (no agent needs to be online:
# accepting queues the chat for the first agent who signs in).
DEMO_RULE_WAIT_S = 5
DEMO_RULE: dict[str, Any] = {
    "name": "Demo: help at checkout",
    "enabled": True,
    "priority": 10,
    "when": {
        "all": [
            {"fact": "page.path", "op": "glob", "value": "/demo/checkout*"},
            {"fact": "cart.value", "op": "gt", "value": 0},
            {"fact": "page.time_s", "op": "gte", "value": DEMO_RULE_WAIT_S},
        ]
    },
    "gates": {"max_per_visit": 1},
    "variants": [
        {
            "id": "a",
            "weight": 1,
            "text": {
                "en": "Any questions before you order? We're happy to help.",
                "hr": "Imate li pitanja prije narudžbe? Rado ćemo pomoći.",
                "de": "Noch Fragen vor der Bestellung? Wir helfen gern.",
            },
        }
    ],
}


class DemoNotFound(Exception):
    """No such page or site; the message is shown to the visitor on a 404 page."""


async def create_demo_rule(db: Database, site_id: str) -> dict[str, Any]:
    """Save DEMO_RULE on the site (version 1, no author); returns the stored row.
    Raises ValueError if the rule does not validate (a bug here, not bad input)."""
    from server.api.rules import check_rule, new_rule_row
    from server.errors import ApiError

    try:
        row = new_rule_row(site_id, check_rule(DEMO_RULE))
    except ApiError as exc:
        raise ValueError(f"the demo rule is not valid: {exc.details}") from exc
    async with db.write() as conn:
        await rule_queries.insert_rule(conn, row, None)
    return row


def page_file(demo_dir: Path, name: str) -> Path:
    """The HTML file for page `name` ('' is the product list). Raises DemoNotFound."""
    name = name.strip("/") or "index"
    if not _PAGE_NAME.match(name):
        raise DemoNotFound("There is no such page in the demo shop.")
    path = demo_dir / f"{name}.html"
    if not path.is_file():
        raise DemoNotFound("There is no such page in the demo shop.")
    return path


async def choose_site(
    conn: AsyncConnection, asked: str | None, remembered: str | None
) -> tuple[dict[str, Any], bool]:
    """(site, remember it). `asked` (from ?site=) must exist; a stale `remembered` key
    (from the cookie) falls back to the first site. Raises DemoNotFound."""
    if asked is not None:
        site = await site_queries.get_site_by_key(conn, asked) if _SITE_KEY.match(asked) else None
        if site is None:
            raise DemoNotFound(f"No site has the key “{asked[:100]}”.")
        return site, True
    if remembered and _SITE_KEY.match(remembered):
        site = await site_queries.get_site_by_key(conn, remembered)
        if site is not None:
            return site, False
    rows = await site_queries.list_sites(conn, member_id=None, after_id=None, limit=1)
    if not rows:
        raise DemoNotFound("No site yet: run “beckon create-site”, or “beckon serve” once.")
    return rows[0], False


async def render(demo_dir: Path, path: Path, site: dict[str, Any], origin: str) -> str:
    """The page inside the shop's layout (`demo_dir/_layout.html`), with the site's
    snippet and name put in. A page file is its title line, then its `<main>`."""
    page = await anyio.Path(path).read_text("utf-8")
    title = _TITLE_LINE.match(page)
    if title is None:
        raise ValueError(f"{path} does not start with its title line")
    return await _in_layout(
        demo_dir, title.group(1), page[title.end() :].rstrip("\n"), site, origin
    )


async def render_not_found(demo_dir: Path, site: dict[str, Any], origin: str, message: str) -> str:
    """The shop's 404 page for a known site: in the layout, with the widget, whose
    struggle signals see the error page (docs/rules.md, "Struggle signals")."""
    main = NOT_FOUND_MAIN.replace("{message}", html.escape(message))
    return await _in_layout(demo_dir, "Not found", main, site, origin)


async def _in_layout(
    demo_dir: Path, title: str, main: str, site: dict[str, Any], origin: str
) -> str:
    layout = await anyio.Path(demo_dir / LAYOUT).read_text("utf-8")
    return (
        layout.replace(TITLE_MARK, title)
        .replace(MAIN_MARK, main)
        .replace(SNIPPET_MARK, snippet(site["key"], origin))
        .replace(SITE_NAME_MARK, html.escape(site["name"]))
    )


def not_found_page(message: str) -> str:
    return NOT_FOUND.replace("{message}", html.escape(message))


NOT_FOUND_MAIN = """<main class="wrap notfound" data-page="notfound">
<h1>Not found</h1><p>{message}</p>
<p><a class="btn" href="/demo/">Back to the demo shop</a></p></main>"""

NOT_FOUND = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not found — Beckon demo shop</title>
<link rel="stylesheet" href="/demo/assets/shop.css"></head>
<body><main class="wrap notfound"><h1>Not found</h1><p>{message}</p>
<p><a class="btn" href="/demo/">Back to the demo shop</a></p></main></body></html>
"""
