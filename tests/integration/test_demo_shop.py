"""The demo shop over HTTP and the first-run demo rule: `beckon serve` on an empty
database creates the demo site with its checkout rule; `/demo/...` pages carry the chosen
site's snippet; bad site keys and page names get a clear 404 page, never a traceback."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from server.demo import DEMO_RULE, SITE_COOKIE
from tests.beckon_process import BeckonProcess, subprocess_env

PAGES = [
    "/demo/",
    "/demo/products/lamp",
    "/demo/products/mugs",
    "/demo/products/throw",
    "/demo/products/cushion",
    "/demo/cart",
    "/demo/checkout",
    "/demo/confirmed",
]


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def first_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[BeckonProcess, httpx.AsyncClient]]:
    """A first `beckon serve` (bootstrap on), and a client signed in as its first admin
    (sending its CSRF token)."""
    tmp = tmp_path_factory.mktemp("first-run")
    process = BeckonProcess(subprocess_env(tmp), tmp)
    await process.start()
    try:
        match = re.search(r"first admin:\s+(\S+) / (\S+)", process.log())
        assert match, process.log()
        client, csrf = await process.login(match.group(1), match.group(2))
        client.headers["X-CSRF-Token"] = csrf
        async with client:
            yield process, client
    finally:
        await process.stop()


async def test_first_run_creates_the_demo_rule_on_the_demo_site(first_run) -> None:  # type: ignore[no-untyped-def]
    process, admin = first_run
    assert (
        "demo rule:      'Demo: help at checkout' invites after 5 s on the demo checkout"
        " with a cart" in process.log()
    )
    sites = (await admin.get("/api/v1/sites")).json()["items"]
    (site,) = [s for s in sites if s["name"] == "Demo site"]
    assert site["allowed_origins"] == [process.url, f"http://localhost:{process.port}"]
    (rule,) = (await admin.get(f"/api/v1/sites/{site['id']}/rules")).json()["items"]
    assert (rule["name"], rule["enabled"], rule["version"]) == ("Demo: help at checkout", True, 1)
    assert rule["when"] == {
        "all": [
            {"fact": "page.path", "op": "glob", "value": "/demo/checkout*"},
            {"fact": "cart.value", "op": "gt", "value": 0},
            {"fact": "page.time_s", "op": "gte", "value": 5},
        ]
    }
    assert rule["variants"] == DEMO_RULE["variants"]
    # The stored rule is an ordinary rule: the admin API validates and edits it.
    edited = await admin.put(
        f"/api/v1/sites/{site['id']}/rules/{rule['id']}", json={**rule, "priority": 3}
    )
    assert edited.status_code == 200, edited.text


async def test_every_page_carries_the_snippet_and_bad_input_is_a_404_page(first_run) -> None:  # type: ignore[no-untyped-def]
    process, admin = first_run
    sites = (await admin.get("/api/v1/sites")).json()["items"]
    (demo,) = [s for s in sites if s["name"] == "Demo site"]
    other = (
        await admin.post(
            "/api/v1/sites",
            json={"name": "Second <shop>", "allowed_origins": [process.url]},
        )
    ).json()
    async with process.client() as client:
        for path in PAGES:
            response = await client.get(path, params={"site": demo["key"]})
            assert response.status_code == 200, path
            assert f'<script src="{process.url}/widget.js" data-site="{demo["key"]}" async>' in (
                response.text
            )
            assert "<!--beckon:" not in response.text
            assert response.headers["cache-control"] == "no-store"
            assert "default-src 'self'" in response.headers["content-security-policy"]

        # ?site= is remembered for the next pages (a cookie on /demo), and site names are text.
        chosen = await client.get("/demo/", params={"site": other["key"]})
        assert chosen.status_code == 200
        assert chosen.cookies[SITE_COOKIE] == other["key"]
        assert "<strong>Second &lt;shop&gt;</strong>" in chosen.text
        cart = await client.get("/demo/cart")
        assert f'data-site="{other["key"]}"' in cart.text

        # A stale cookie (a deleted site, garbage) falls back to a site instead of failing.
        client.cookies.set(SITE_COOKIE, "sk_gone", path="/demo")
        stale = await client.get("/demo/cart")
        assert stale.status_code == 200 and 'data-site="sk_' in stale.text
        client.cookies.set(SITE_COOKIE, "<script>", path="/demo")
        assert (await client.get("/demo/cart")).status_code == 200

        bad_sites = {
            "sk_nope": "No site has the key “sk_nope”.",
            "<img src=x onerror=alert(1)>": (
                "No site has the key “&lt;img src=x onerror=alert(1)&gt;”."
            ),
            "x" * 5000: "No site has the key “" + "x" * 100 + "”.",
        }
        for key, message in bad_sites.items():
            response = await client.get("/demo/checkout", params={"site": key})
            assert response.status_code == 404
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            assert f"<p>{message}</p>" in response.text
            assert "<img" not in response.text

        for path in (
            "/demo/nope",
            "/demo/products/nope",
            "/demo/products/lamp/extra",
            "/demo/index.html",
            "/demo/Cart",
            "/demo/%2e%2e/%2e%2e/server/cli",
            "/demo/..%2f..%2fpyproject",
            "/demo/" + "a" * 300,
            "/demo/assets/nope.css",
            "/demo/assets/../../server/cli.py",
        ):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert "Traceback" not in response.text
        missing = await client.get("/demo/nope")
        assert "<p>There is no such page in the demo shop.</p>" in missing.text
        # A known site's 404 is the shop's own error page, with the widget (which sees it).
        assert 'data-page="notfound"' in missing.text
        assert 'data-site="sk_' in missing.text  # the cookie is garbage: the first site
        assert "<!--beckon:" not in missing.text
        assert SITE_COOKIE not in missing.headers.get("set-cookie", "")

        assert (await client.get("/demo", follow_redirects=False)).headers["location"] == "/demo/"
        assert (await client.post("/demo/cart")).status_code == 405
        css = await client.get("/demo/assets/shop.css")
        assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"
