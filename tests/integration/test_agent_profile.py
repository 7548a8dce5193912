"""An agent's own profile: display name and title over REST, an
uploaded avatar re-encoded small and served cached by its digest, the bad uploads
refused with a JSON 4xx, every change in the audit log, and visitors getting the name,
title and avatar in the `conversation` frame."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from PIL import Image

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import online_agent

pytestmark = pytest.mark.asyncio(loop_scope="module")


def png(width: int, height: int, colour: str = "#4f46e5") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BeckonProcess]:
    env = {"BECKON_AVATAR_MAX_BYTES": "200000", "BECKON_MEDIA_MAX_PIXELS": "4000000"}
    async with running_node(Path(tmp_path_factory.mktemp("profile")), env=env) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


def as_agent(chat: ChatSite) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url,
        timeout=10,
        headers={"Authorization": f"Bearer {chat.agent_token}"},
    )


async def test_name_title_and_avatar_reach_the_visitor(chat: ChatSite, node: BeckonProcess) -> None:
    async with as_agent(chat) as api:
        got = await api.get("/api/v1/me/profile")
        assert got.json() == {"display_name": "Ana", "title": None, "avatar_url": None}
        patched = await api.patch(
            "/api/v1/me/profile", json={"display_name": "Ana Horvat", "title": "Support lead"}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["title"] == "Support lead"
        # A big photo becomes a small PNG at a URL naming its digest.
        put = await api.put(
            "/api/v1/me/avatar", content=png(1200, 800), headers={"Content-Type": "image/png"}
        )
        assert put.status_code == 200, put.text
        url = put.json()["avatar_url"]
        assert url.startswith(f"{node.url}/avatars/{chat.agent['id']}/") and url.endswith(".png")
        served = await api.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert "immutable" in served.headers["cache-control"]
        assert served.headers["cross-origin-resource-policy"] == "cross-origin"
        with Image.open(io.BytesIO(served.content)) as image:
            assert max(image.size) == 256 and image.size == (256, 171)
        etag = served.headers["etag"]
        again = await api.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304

    # A visitor's chat: the agent's profile is in the conversation frame.
    agent = await online_agent(chat, node.url, chat.agent_token)
    visitor, _ = await chat.visitor()
    await visitor.request({"type": "chat_start", "text": "Hello"})
    frame = await visitor.expect(
        lambda f: f.get("type") == "conversation" and f.get("status") == "active"
    )
    assert frame["agent"]["name"] == "Ana Horvat"
    assert frame["agent"]["title"] == "Support lead"
    assert frame["agent"]["avatar_url"] == url
    await visitor.close()
    await agent.close()

    async with as_agent(chat) as api:
        # A new image is a new URL; the old one is gone.
        newer = await api.put("/api/v1/me/avatar", content=png(64, 64, "#16a34a"))
        assert newer.status_code == 200 and newer.json()["avatar_url"] != url
        assert (await api.get(url)).status_code == 404
        removed = await api.delete("/api/v1/me/avatar")
        assert removed.status_code == 200 and removed.json()["avatar_url"] is None
        assert (await api.get(newer.json()["avatar_url"])).status_code == 404
        cleared = await api.patch("/api/v1/me/profile", json={"title": ""})
        assert cleared.json()["title"] is None

    async with httpx.AsyncClient(base_url=chat.server_url, timeout=10) as admin:
        audit = await admin.get(
            "/api/v1/audit",
            params={"action": "user.", "actor_id": chat.agent["id"]},
            headers={"Authorization": f"Bearer {chat.admin_token}"},
        )
    assert audit.status_code == 200, audit.text
    actions = [e["action"] for e in audit.json()["items"]]
    assert actions.count("user.profile_update") == 2
    assert actions.count("user.avatar_set") == 2 and actions.count("user.avatar_remove") == 1


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 422, "empty_file"),
        (SVG, 415, "unsupported_type"),
        (b"%PDF-1.4\n1 0 obj\n", 415, "unsupported_type"),
        (b"just some text, not an image", 415, "unsupported_type"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 422, "invalid_image"),
        (b"\x00" * 300_000, 413, "too_large"),
        (png(2500, 2000), 413, "image_too_large"),
    ],
    ids=["empty", "svg", "pdf", "text", "broken-png", "too-many-bytes", "too-many-pixels"],
)
async def test_bad_avatars_are_refused_with_a_json_4xx(
    chat: ChatSite, body: bytes, status: int, code: str
) -> None:
    async with as_agent(chat) as api:
        before = (await api.get("/api/v1/me/profile")).json()
        response = await api.put("/api/v1/me/avatar", content=body)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert (await api.get("/api/v1/me/profile")).json() == before


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": ""},
        {"display_name": "x" * 101},
        {"display_name": None},
        {"title": "t" * 81},
        {"title": 5},
        {"avatar_url": "https://evil.example/a.png"},
    ],
    ids=["empty-name", "long-name", "null-name", "long-title", "number-title", "unknown-field"],
)
async def test_bad_profile_fields_are_refused(chat: ChatSite, body: dict) -> None:
    async with as_agent(chat) as api:
        response = await api.patch("/api/v1/me/profile", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_failed"


async def test_an_unknown_avatar_is_a_json_404(chat: ChatSite) -> None:
    async with httpx.AsyncClient(base_url=chat.server_url, timeout=10) as client:
        for path in (f"/avatars/{chat.agent['id']}/deadbeef.png", "/avatars/us_nobody/x.png"):
            response = await client.get(path)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
