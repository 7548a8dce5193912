"""`beckon serve` with S3 storage (moto's standalone server): uploads and downloads go
through it; with the storage down a node still starts, uploads are 503 `unavailable`, and
the same upload id succeeds once the storage is back."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.beckon_process import BeckonProcess, free_port
from tests.chat_setup import make_chat_site
from tests.media import samples
from tests.media.conftest import make_bucket
from tests.moto_s3 import S3_ENV, moto_server


async def test_s3_down_at_start_then_up(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        **beckon_env,
        **S3_ENV,
        "BECKON_MEDIA_URL": "s3://beckon-media/files",
        "BECKON_MEDIA_S3_ENDPOINT": endpoint,
    }
    node = BeckonProcess(env, tmp_path)
    await node.create_admin()
    await node.start()  # the storage is down: the node starts anyway
    try:
        chat = await make_chat_site(node)
        visitor, welcome = await chat.visitor()
        conv = await visitor.request({"type": "chat_start", "text": "hi"})
        path = f"/api/v1/conversations/{conv['id']}/attachments/up-1?name=a.pdf"
        headers = {"X-Visitor-Token": welcome["visitor_token"]}
        async with node.client() as client:
            down = await client.put(path, content=samples.PDF, headers=headers)
            assert down.status_code == 503
            assert down.json()["error"] == {
                "code": "unavailable",
                "message": "file storage is unavailable; retry shortly",
            }
            with moto_server(port):
                await make_bucket(endpoint, "beckon-media")
                up = await client.put(path, content=samples.png(), headers=headers)
                assert up.status_code == 201, node.log()[-3000:]
                attachment = up.json()["attachment"]
                url = urlsplit(attachment["url"])
                got = await client.get(f"{url.path}?{url.query}")
                assert (got.status_code, got.headers["content-type"]) == (200, "image/png")
                thumb = urlsplit(attachment["thumb_url"])
                assert (await client.get(f"{thumb.path}?{thumb.query}")).status_code == 200
            # the storage goes away again: a download is 503, not a 500 or a hang
            gone = await client.get(f"{url.path}?{url.query}")
            assert (gone.status_code, gone.json()["error"]["code"]) == (503, "unavailable")
        await visitor.close()
    finally:
        await node.stop()
