"""A site's allow-list of file types over REST, and CORS on refused uploads: the widget's
origin reads why a file was refused (413, 415), another origin gets no CORS headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.media import samples
from tests.ws_client import ORIGIN

MAX_BYTES = 64 * 1024


@pytest.fixture
async def node(beckon_env, tmp_path) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    process = BeckonProcess({**beckon_env, "BECKON_MEDIA_MAX_BYTES": str(MAX_BYTES)}, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def set_allowed(chat: ChatSite, value: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=chat.server_url, timeout=10) as client:
        return await client.patch(
            f"/api/v1/sites/{chat.site['id']}",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
            json={"settings": {"attachments_allowed": value}},
        )


async def test_site_allow_list_is_enforced_on_the_sniffed_type(node) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(node)
    visitor, welcome = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "hi"})
    headers = {"X-Visitor-Token": welcome["visitor_token"]}
    base = f"/api/v1/conversations/{conv['id']}/attachments"

    bad = await set_allowed(chat, ["images", "exe"])
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["code"] == "validation_failed"
    assert "attachments_allowed" in bad.text

    saved = await set_allowed(chat, ["images"])
    assert saved.status_code == 200, saved.text
    assert saved.json()["settings"]["attachments_allowed"] == ["images"]
    async with node.client() as client:
        # A PDF named .png is a PDF: refused by the site's list.
        pdf = await client.put(f"{base}/a?name=x.png", content=samples.PDF, headers=headers)
        assert (pdf.status_code, pdf.json()["error"]) == (
            415,
            {
                "code": "unsupported_type",
                "message": "files of type application/pdf are not accepted",
            },
        )
        png = await client.put(f"{base}/b?name=x.png", content=samples.png(), headers=headers)
        assert png.status_code == 201, png.text

        assert (await set_allowed(chat, [])).status_code == 200
        none = await client.put(f"{base}/c?name=x.png", content=samples.png(), headers=headers)
        assert (none.status_code, none.json()["error"]) == (
            415,
            {"code": "unsupported_type", "message": "this site does not accept files"},
        )

        # Back to the node's list (null): the PDF is accepted again.
        reset = await set_allowed(chat, None)
        assert reset.json()["settings"]["attachments_allowed"] is None
        again = await client.put(f"{base}/d?name=x.pdf", content=samples.PDF, headers=headers)
        assert again.status_code == 201, again.text
    await visitor.close()


async def test_refused_uploads_carry_cors_for_the_sites_origin_only(node) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(node)
    visitor, welcome = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "hi"})
    token = {"X-Visitor-Token": welcome["visitor_token"]}
    base = f"/api/v1/conversations/{conv['id']}/attachments"
    too_big = b"x" * (MAX_BYTES + 1)
    async with node.client() as client:
        big = await client.put(
            f"{base}/big?name=a.txt", content=too_big, headers={**token, "Origin": ORIGIN}
        )
        assert big.status_code == 413
        assert big.json()["error"]["code"] == "too_large"
        assert big.headers["access-control-allow-origin"] == ORIGIN
        assert big.headers["vary"] == "Origin"

        html = await client.put(
            f"{base}/html?name=a.png", content=samples.HTML, headers={**token, "Origin": ORIGIN}
        )
        assert (html.status_code, html.headers["access-control-allow-origin"]) == (415, ORIGIN)

        no_token = await client.put(
            f"{base}/t?name=a.txt", content=b"a", headers={"Origin": ORIGIN}
        )
        assert (no_token.status_code, no_token.headers["access-control-allow-origin"]) == (
            401,
            ORIGIN,
        )

        missing = await client.get(f"{base}/at_nothing", headers={**token, "Origin": ORIGIN})
        assert (missing.status_code, missing.headers["access-control-allow-origin"]) == (
            404,
            ORIGIN,
        )

        stranger = await client.put(
            f"{base}/big2?name=a.txt",
            content=too_big,
            headers={**token, "Origin": "https://evil.example"},
        )
        assert stranger.status_code == 413
        assert "access-control-allow-origin" not in stranger.headers
    await visitor.close()
