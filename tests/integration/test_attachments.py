"""Attachments over REST on a real `beckon serve`: upload, retry by id, serve inert, and
every bad input refused with its code (local disk storage; the S3 backend has its own
conformance suite in tests/media/)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.media import samples
from tests.waiting import wait_until
from tests.ws_client import ORIGIN, WsClient


@pytest.fixture
async def media_server(beckon_env, tmp_path) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    env = {**beckon_env, "BECKON_MEDIA_MAX_BYTES": str(1024 * 1024), "BECKON_MEDIA_URL_TTL_S": "10"}
    process = BeckonProcess(env, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


class Visitor:
    def __init__(self, socket: WsClient, welcome: dict, conversation_id: str) -> None:
        self.socket, self.conversation_id = socket, conversation_id
        self.token, self.id = welcome["visitor_token"], welcome["visitor_id"]

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Visitor-Token": self.token}


async def _visitor(chat: ChatSite) -> Visitor:
    socket, welcome = await chat.visitor()
    conversation = await socket.request({"type": "chat_start"})
    assert conversation["type"] == "conversation"
    return Visitor(socket, welcome, conversation["id"])


def _path(conversation_id: str, upload_id: str, name: str) -> str:
    return f"/api/v1/conversations/{conversation_id}/attachments/{upload_id}?name={name}"


async def _upload(
    client: httpx.AsyncClient, visitor: Visitor, data: bytes, name: str = "x.png", uid: str = "u1"
) -> httpx.Response:
    return await client.put(
        _path(visitor.conversation_id, uid, name), content=data, headers=visitor.headers
    )


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_image_upload_is_reencoded_and_served_inline(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    async with media_server.client() as client:
        answer = await _upload(client, visitor, samples.jpeg_with_gps(), "../../photo.jpg")
        assert answer.status_code == 201, answer.text
        attachment = answer.json()["attachment"]
        assert {k: attachment[k] for k in ("name", "mime", "width", "height")} == {
            "name": "photo.jpg",
            "mime": "image/jpeg",
            "width": 64,
            "height": 48,
        }
        got = await client.get(_local(attachment["url"]))
        assert got.status_code == 200
        assert got.headers["content-type"] == "image/jpeg"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"].startswith('inline; filename="photo.jpg"')
        assert "sandbox" in got.headers["content-security-policy"]
        assert b"SpyCam" not in got.content
        assert dict(Image.open(io.BytesIO(got.content)).getexif()) == {}
        thumb = await client.get(_local(attachment["thumb_url"]))
        assert (thumb.status_code, thumb.headers["content-type"]) == (200, "image/jpeg")
    await visitor.socket.close()


async def test_retry_with_the_same_upload_id_is_the_same_attachment(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    async with media_server.client() as client:
        first = await _upload(client, visitor, samples.PDF, "bill.pdf", "retry-1")
        again = await _upload(client, visitor, samples.PDF, "bill.pdf", "retry-1")
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["attachment"]["id"] == again.json()["attachment"]["id"]
    await visitor.socket.close()


async def test_pdf_downloads_as_attachment_and_agent_may_read(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    async with media_server.client() as client:
        attachment = (await _upload(client, visitor, samples.PDF, "bill.pdf")).json()["attachment"]
        got = await client.get(_local(attachment["url"]))
        assert got.headers["content-disposition"] == (
            "attachment; filename=\"bill.pdf\"; filename*=UTF-8''bill.pdf"
        )
        assert got.headers["content-type"] == "application/pdf"
        assert got.content == samples.PDF
        # the site's agent gets its own URL for the same attachment
        agent_view = await client.get(
            f"/api/v1/conversations/{visitor.conversation_id}/attachments/{attachment['id']}",
            headers={"Authorization": f"Bearer {chat.agent_token}"},
        )
        assert agent_view.status_code == 200
        assert "p=s%3A" in agent_view.json()["attachment"]["url"]
        assert (await client.get(_local(agent_view.json()["attachment"]["url"]))).content == (
            samples.PDF
        )
    await visitor.socket.close()


@pytest.mark.parametrize(
    ("data", "name", "status", "code", "message"),
    [
        (
            samples.HTML,
            "cat.png",
            415,
            "unsupported_type",
            "HTML, SVG and XML files are not accepted",
        ),
        (
            samples.SVG_WITH_SCRIPT,
            "logo.svg",
            415,
            "unsupported_type",
            "HTML, SVG and XML files are not accepted",
        ),
        (
            samples.png_bomb(),
            "bomb.png",
            413,
            "image_too_large",
            "the image has more than 40000000 pixels",
        ),
        (
            b"PK\x03\x04" + bytes(60),
            "a.zip",
            415,
            "unsupported_type",
            "files of type application/zip are not accepted",
        ),
        (samples.png()[:60], "cut.png", 422, "invalid_image", "the image cannot be decoded"),
    ],
    ids=["html-named-png", "svg-script", "zip-bomb-image", "zip", "truncated"],
)
async def test_bad_files_are_refused(media_server, data, name, status, code, message) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    async with media_server.client() as client:
        answer = await _upload(client, visitor, data, name)
        assert answer.status_code == status
        assert answer.json() == {"error": {"code": code, "message": message}}
    await visitor.socket.close()


async def test_polyglot_is_served_without_its_payload(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    async with media_server.client() as client:
        attachment = (await _upload(client, visitor, samples.polyglot_png())).json()["attachment"]
        got = await client.get(_local(attachment["url"]))
        assert samples.POLYGLOT_PAYLOAD not in got.content
    await visitor.socket.close()


async def test_file_named_with_separators_and_control_characters(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    async with media_server.client() as client:
        answer = await _upload(client, visitor, b"hello\n", "..%2F..%2Fetc%2Fpa%0D%0Asswd%00.html")
        attachment = answer.json()["attachment"]
        assert attachment["name"] == "passwd.html.txt"
        got = await client.get(_local(attachment["url"]))
        assert got.headers["content-disposition"].startswith(
            'attachment; filename="passwd.html.txt"'
        )
        assert got.headers["content-type"] == "text/plain; charset=utf-8"
    await visitor.socket.close()


async def test_oversized_declared_body_is_413_before_it_is_read(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    host, port = media_server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    path = _path(visitor.conversation_id, "big", "big.pdf")
    writer.write(
        (
            f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nX-Visitor-Token: {visitor.token}\r\n"
            f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
        ).encode()
        + b"%PDF-" * 100
    )
    await writer.drain()
    # The answer comes with 199.99 MB still unsent: nothing waited for the body.
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 413")
    writer.close()
    await visitor.socket.close()


async def test_oversized_chunked_body_is_413(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"a" * 64 * 1024

    async with media_server.client() as client:
        answer = await client.put(
            _path(visitor.conversation_id, "chunked", "x.txt"),
            content=chunks(),
            headers=visitor.headers,
        )
        assert answer.status_code == 413
        assert answer.json()["error"] == {
            "code": "too_large",
            "message": "the file is larger than 1048576 bytes",
        }
    await visitor.socket.close()


async def test_another_visitor_and_another_sites_agent_get_404(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    other_site = await make_chat_site(media_server, agent_email="other@example.com")
    alice, bob = await _visitor(chat), await _visitor(chat)
    async with media_server.client() as client:
        attachment = (await _upload(client, alice, samples.PDF, "a.pdf")).json()["attachment"]
        # bob cannot upload into, nor read from, alice's conversation
        into = await client.put(
            _path(alice.conversation_id, "u9", "x.pdf"), content=samples.PDF, headers=bob.headers
        )
        details = f"/api/v1/conversations/{alice.conversation_id}/attachments/{attachment['id']}"
        read = await client.get(details, headers=bob.headers)
        stranger = await client.get(
            details, headers={"Authorization": f"Bearer {other_site.agent_token}"}
        )
        for answer in (into, read, stranger):
            assert answer.status_code == 404
            assert answer.json()["error"] == {
                "code": "not_found",
                "message": "no such conversation",
            }
        # alice's URL with bob as its principal: the signature no longer holds
        forged = _local(attachment["url"]).replace(f"p=v%3A{alice.id}", f"p=v%3A{bob.id}")
        assert forged != _local(attachment["url"])
        got = await client.get(forged)
        assert (got.status_code, got.json()["error"]["code"]) == (404, "not_found")
        # bob's signed URL for his own conversation opens nothing of alice's
        mine = (await _upload(client, bob, samples.PDF, "b.pdf")).json()["attachment"]
        swapped = _local(mine["url"]).replace(mine["id"], attachment["id"])
        assert (await client.get(swapped)).status_code == 404
    for visitor in (alice, bob):
        await visitor.socket.close()


async def test_expired_url_is_410(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    async with media_server.client() as client:
        attachment = (await _upload(client, visitor, samples.PDF, "a.pdf")).json()["attachment"]
        url = _local(attachment["url"])
        expires_s = attachment["url_expires_ts"] // 1000
        # A URL signed with the TTL of 10 s: wait until the node's clock is past it.
        got = await wait_until(
            lambda: client.get(url), lambda r: r.status_code != 200, 30, "the URL to expire"
        )
        assert (got.status_code, got.json()["error"]) == (
            410,
            {"code": "gone", "message": "the link has expired; ask for a new one"},
        )
        assert expires_s > 0
    await visitor.socket.close()


async def test_no_credentials_is_401_and_closed_conversation_409(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    async with media_server.client() as client:
        anonymous = await client.put(_path(visitor.conversation_id, "u", "x"), content=b"x")
        assert anonymous.status_code == 401
        await visitor.socket.request({"type": "close", "conversation_id": visitor.conversation_id})
        closed = await _upload(client, visitor, samples.PDF, "a.pdf", "after-close")
        assert closed.status_code == 409
        assert closed.json()["error"] == {
            "code": "conflict",
            "message": "the conversation is closed",
        }
    await visitor.socket.close()


async def test_widget_origin_may_upload_cross_origin(media_server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(media_server)
    visitor = await _visitor(chat)
    path = _path(visitor.conversation_id, "cors-1", "a.pdf")
    preflight_headers = {
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-visitor-token",
    }
    async with media_server.client() as client:
        allowed = await client.options(path, headers={"Origin": ORIGIN, **preflight_headers})
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        assert allowed.headers["access-control-allow-methods"] == "PUT, GET"
        assert "X-Visitor-Token" in allowed.headers["access-control-allow-headers"]
        assert "access-control-allow-credentials" not in allowed.headers
        other = await client.options(
            path, headers={"Origin": "https://evil.example", **preflight_headers}
        )
        assert (other.status_code, other.json()["error"]["code"]) == (403, "forbidden")
        assert "access-control-allow-origin" not in other.headers
        put = await client.put(
            path, content=samples.PDF, headers={**visitor.headers, "Origin": ORIGIN}
        )
        assert (put.status_code, put.headers["access-control-allow-origin"]) == (201, ORIGIN)
        stranger = await client.put(
            _path(visitor.conversation_id, "cors-2", "a.pdf"),
            content=samples.PDF,
            headers={**visitor.headers, "Origin": "https://evil.example"},
        )
        assert "access-control-allow-origin" not in stranger.headers
    await visitor.socket.close()
