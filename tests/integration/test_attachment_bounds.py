"""Attachment bounds on a real node: the per-site quota, the type allow-list, and a node
killed mid-upload (the retry with the same upload id stores the file once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from tests.beckon_process import BeckonProcess
from tests.chat_setup import make_chat_site
from tests.media import samples


async def test_site_quota_and_type_allow_list(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        **beckon_env,
        "BECKON_MEDIA_SITE_QUOTA_BYTES": "1024",
        "BECKON_MEDIA_TYPES": "text/plain,image/png",
    }
    node = BeckonProcess(env, tmp_path)
    await node.create_admin()
    await node.start()
    try:
        chat = await make_chat_site(node)
        visitor, welcome = await chat.visitor()
        conv = await visitor.request({"type": "chat_start", "text": "hi"})
        headers = {"X-Visitor-Token": welcome["visitor_token"]}
        base = f"/api/v1/conversations/{conv['id']}/attachments"
        async with node.client() as client:
            pdf = await client.put(f"{base}/a?name=x.pdf", content=samples.PDF, headers=headers)
            assert (pdf.status_code, pdf.json()["error"]) == (
                415,
                {
                    "code": "unsupported_type",
                    "message": "files of type application/pdf are not accepted",
                },
            )
            first = await client.put(f"{base}/b?name=a.txt", content=b"a" * 900, headers=headers)
            assert first.status_code == 201
            over = await client.put(f"{base}/c?name=b.txt", content=b"b" * 200, headers=headers)
            assert (over.status_code, over.json()["error"]) == (
                413,
                {
                    "code": "quota_exceeded",
                    "message": "the site's attachments would exceed its quota of 1024 bytes",
                },
            )
            fits = await client.put(f"{base}/d?name=c.txt", content=b"c" * 124, headers=headers)
            assert fits.status_code == 201
        await visitor.close()
    finally:
        await node.stop()


async def test_node_killed_mid_upload_then_the_retry_stores_once(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    node = BeckonProcess(beckon_env, tmp_path)
    await node.create_admin()
    await node.start()
    try:
        chat = await make_chat_site(node)
        visitor, welcome = await chat.visitor()
        conv = await visitor.request({"type": "chat_start", "text": "hi"})
        await visitor.close()
        path = f"/api/v1/conversations/{conv['id']}/attachments/k1?name=log.txt"
        headers = {"X-Visitor-Token": welcome["visitor_token"]}
        sent_half = asyncio.Event()

        async def body() -> AsyncIterator[bytes]:
            yield b"first half\n" * 1000
            sent_half.set()
            await asyncio.Event().wait()  # the rest never comes: the node dies first

        async with node.client() as client:
            upload = asyncio.create_task(client.put(path, content=body(), headers=headers))
            await asyncio.wait_for(sent_half.wait(), 10)
            await node.kill()
            upload.cancel()
        await node.start()
        async with node.client() as client:
            retry = await client.put(path, content=b"whole file\n" * 1000, headers=headers)
            again = await client.put(path, content=b"whole file\n" * 1000, headers=headers)
            assert (retry.status_code, again.status_code) == (201, 200)
            attachment = retry.json()["attachment"]
            assert again.json()["attachment"]["id"] == attachment["id"]
            url = attachment["url"].removeprefix(node.url)
            assert (await client.get(url)).content == b"whole file\n" * 1000
        # nothing of the killed attempt is on disk: one attachment's one object
        media = tmp_path / "media"
        stored = sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())
        assert stored == [f"{chat.site['id']}/{attachment['id']}/original"]
    finally:
        await node.stop()
