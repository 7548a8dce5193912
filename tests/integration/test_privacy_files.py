"""A visitor's files in an export and an erasure, on
the local disk and on S3 (moto's standalone server): the export lists each file with a
signed URL that downloads it; the erasure deletes the rows and the stored objects (the
files are gone from the media directory / the bucket) and leaves another visitor's; with
the storage down an erasure is refused before anything is erased."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from server.media import open_media_storage
from tests.beckon_process import BeckonProcess, free_port
from tests.chat_setup import ChatSite, make_chat_site
from tests.media import samples
from tests.media.conftest import make_bucket
from tests.moto_s3 import S3_ENV, moto_server

BUCKET = "beckon-erase"


class Storage:
    """The node's media storage as the test sees it: every stored key."""

    def __init__(self, kind: str, tmp: Path, port: int) -> None:
        self.kind = kind
        self.dir = tmp / "media"
        self.endpoint = f"http://127.0.0.1:{port}"

    def env(self) -> dict[str, str]:
        if self.kind == "local":
            return {"BECKON_MEDIA_DIR": str(self.dir)}
        return {
            **S3_ENV,
            "BECKON_MEDIA_URL": f"s3://{BUCKET}/files",
            "BECKON_MEDIA_S3_ENDPOINT": self.endpoint,
        }

    async def keys(self) -> list[str]:
        if self.kind == "local":
            return sorted(
                p.relative_to(self.dir).as_posix() for p in self.dir.rglob("*") if p.is_file()
            )
        storage = open_media_storage(f"s3://{BUCKET}/files", self.endpoint)
        await storage.open()
        try:
            return await storage.keys("")
        finally:
            await storage.close()


@contextlib.asynccontextmanager
async def node_with(storage: Storage, beckon_env: dict, tmp: Path) -> AsyncIterator[BeckonProcess]:
    process = BeckonProcess({**beckon_env, **storage.env()}, tmp)
    await process.create_admin()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def visitor_with_files(node: BeckonProcess, chat: ChatSite, tag: str) -> dict[str, Any]:
    """A visitor who sent an image and a PDF in a message, and got an agent's upload."""
    socket, welcome = await chat.visitor()
    conv = await socket.request({"type": "chat_start", "text": "hi"})
    base = f"/api/v1/conversations/{conv['id']}/attachments"
    token = {"X-Visitor-Token": welcome["visitor_token"]}
    ids = []
    async with node.client() as client:
        for uid, data, name in (
            ("p", samples.png(), f"{tag}.png"),
            ("d", samples.PDF, f"{tag}.pdf"),
        ):
            answer = await client.put(f"{base}/{uid}?name={name}", content=data, headers=token)
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["attachment"]["id"])
        agents = await client.put(
            f"{base}/a?name={tag}-answer.pdf",
            content=samples.PDF,
            headers={"Authorization": f"Bearer {chat.agent_token}"},
        )
        assert agents.status_code == 201, agents.text
    sent = await socket.request(
        {
            "type": "message",
            "conversation_id": conv["id"],
            "client_msg_id": "m1",
            "text": "see",
            "attachments": ids,
        }
    )
    assert sent["type"] == "message", sent
    await socket.close()
    return {"id": welcome["visitor_id"], "conversation_id": conv["id"]}


async def privacy(chat: ChatSite, action: str, visitor_id: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=chat.server_url, timeout=30) as client:
        return await client.post(
            f"/api/v1/sites/{chat.site['id']}/privacy/{action}",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
            json={"visitor_id": visitor_id},
        )


@pytest.mark.parametrize("kind", ["local", "s3"])
async def test_erasure_deletes_the_files_and_export_lists_them(  # type: ignore[no-untyped-def]
    kind, beckon_env, tmp_path, monkeypatch
) -> None:
    port = free_port()
    storage = Storage(kind, tmp_path, port)
    with contextlib.ExitStack() as moto:
        if kind == "s3":
            for name, value in S3_ENV.items():
                monkeypatch.setenv(name, value)
            moto.enter_context(moto_server(port))
            await make_bucket(storage.endpoint, BUCKET)
        async with node_with(storage, beckon_env, tmp_path) as node:
            chat = await make_chat_site(node)
            maja = await visitor_with_files(node, chat, "maja")
            other = await visitor_with_files(node, chat, "other")
            stored = await storage.keys()
            # Per visitor: image + thumbnail, PDF, the agent's PDF.
            assert len(stored) == 8, stored

            exported = await privacy(chat, "export", maja["id"])
            assert exported.status_code == 200, exported.text
            files = exported.json()["records"]["attachments"]
            assert [(f["name"], f["sender"][:2]) for f in files] == [
                ("maja.png", "v:"),
                ("maja.pdf", "v:"),
                ("maja-answer.pdf", "a:"),
            ]
            assert files[0]["thumb_url"] and files[0]["width"] == 40
            assert all(f["conversation_id"] == maja["conversation_id"] for f in files)
            assert files[0]["message_id"] and files[2]["message_id"] is None
            url = urlsplit(files[1]["url"])
            async with node.client() as client:
                pdf = await client.get(f"{url.path}?{url.query}")
            assert (pdf.status_code, pdf.content) == (200, samples.PDF)
            assert pdf.headers["content-disposition"].startswith("attachment;")

            erased = await privacy(chat, "erase", maja["id"])
            assert erased.status_code == 200, erased.text
            assert erased.json()["deleted"]["attachments"] == 3
            left = await storage.keys()
            # Only the other visitor's four objects are left, under their own ids.
            assert len(left) == 4, left
            assert not {k.split("/")[1] for k in left} & {f["id"] for f in files}
            async with node.client() as client:
                gone = await client.get(f"{url.path}?{url.query}")
            assert gone.status_code == 404
            theirs = await privacy(chat, "export", other["id"])
            assert len(theirs.json()["records"]["attachments"]) == 3

            if kind == "s3":
                # The storage goes down: the erasure is refused, nothing of them goes.
                moto.close()
                refused = await privacy(chat, "erase", other["id"])
                assert (refused.status_code, refused.json()["error"]) == (
                    503,
                    {
                        "code": "unavailable",
                        "message": "file storage is unavailable; nothing was erased, retry shortly",
                    },
                )
                still = await privacy(chat, "export", other["id"])
                assert len(still.json()["records"]["attachments"]) == 3
