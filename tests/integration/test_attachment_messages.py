"""A `message` frame that references attachments: checked, claimed, acked after both are
stored, fanned out, replayed on resume and in history — on a real `beckon serve`."""

from __future__ import annotations

import httpx
import orjson

from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.media import samples
from tests.webhook_receiver import Receiver
from tests.ws_client import WsClient


async def _upload(
    client: httpx.AsyncClient, cid: str, uid: str, data: bytes, name: str, headers: dict
) -> dict:
    answer = await client.put(
        f"/api/v1/conversations/{cid}/attachments/{uid}?name={name}", content=data, headers=headers
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["attachment"]


async def _active_chat(chat: ChatSite) -> tuple[WsClient, dict, WsClient, str]:
    visitor, welcome = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "my parcel"})
    agent, _ = await chat.agent_socket()
    await agent.request({"type": "accept", "conversation_id": conv["id"]})
    return visitor, welcome, agent, conv["id"]


async def test_visitor_sends_image_and_pdf_agent_sends_image_back(server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(server)
    visitor, welcome, agent, cid = await _active_chat(chat)
    vheaders = {"X-Visitor-Token": welcome["visitor_token"]}
    aheaders = {"Authorization": f"Bearer {chat.agent_token}"}
    async with server.client() as client:
        image = await _upload(client, cid, "p1", samples.png(), "paste.png", vheaders)
        pdf = await _upload(client, cid, "p2", samples.PDF, "label.pdf", vheaders)
        frame = {
            "type": "message",
            "conversation_id": cid,
            "client_msg_id": "m-files",
            "text": "see attached",
            "attachments": [image["id"], pdf["id"]],
        }
        ack = await visitor.request(frame)
        shown = [
            {
                "id": image["id"],
                "name": "paste.png",
                "mime": "image/png",
                "size": image["size"],
                "width": 40,
                "height": 30,
            },
            {
                "id": pdf["id"],
                "name": "label.pdf",
                "mime": "application/pdf",
                "size": len(samples.PDF),
            },
        ]
        assert (ack["type"], ack["attachments"]) == ("message", shown)
        got = await agent.expect(lambda f: f["type"] == "message" and f.get("attachments"))
        assert got["attachments"] == shown
        # the retry is the same message, nothing claimed twice
        retry = await visitor.request(frame)
        assert (retry["id"], retry["seq"], retry["attachments"]) == (ack["id"], ack["seq"], shown)
        # the agent fetches its own signed URL and downloads the PDF
        details = await client.get(
            f"/api/v1/conversations/{cid}/attachments/{pdf['id']}", headers=aheaders
        )
        url = details.json()["attachment"]["url"].removeprefix(server.url)
        download = await client.get(url)
        assert (download.status_code, download.content) == (200, samples.PDF)
        assert download.headers["content-disposition"].startswith("attachment;")
        # the agent sends an image back
        back = await _upload(client, cid, "a1", samples.png(20, 20), "fixed.png", aheaders)
        agent_ack = await agent.request(
            {
                "type": "message",
                "conversation_id": cid,
                "client_msg_id": "a-img",
                "text": "here",
                "attachments": [back["id"]],
            }
        )
        assert agent_ack["attachments"][0]["id"] == back["id"]
        seen = await visitor.expect(
            lambda f: f["type"] == "message" and f["seq"] == agent_ack["seq"]
        )
        assert seen["attachments"][0]["name"] == "fixed.png"
        # history and resume carry them
        history = await client.get(f"/api/v1/conversations/{cid}/messages", headers=aheaders)
        with_files = [m for m in history.json()["items"] if m.get("attachments")]
        assert [m["id"] for m in with_files] == [ack["id"], agent_ack["id"]]
        # the report counts the files sent (the retried message's not twice)
        report = await client.get(
            f"/api/v1/sites/{chat.site['id']}/reports/summary",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
        )
        assert report.json()["files"] == {
            "sent": 3,
            "bytes": image["size"] + pdf["size"] + back["size"],
            "by_visitors": 2,
            "by_agents": 1,
        }
    await visitor.close()
    again, _ = await chat.visitor(visitor_token=welcome["visitor_token"])
    await again.send({"type": "resume", "conversation_id": cid, "after_seq": 0})
    replayed = await again.expect(lambda f: f["type"] == "message" and f["seq"] == ack["seq"])
    assert replayed["attachments"] == shown
    for socket in (again, agent):
        await socket.close()


async def test_bad_references_are_refused_and_nothing_is_stored(server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(server)
    visitor, welcome, agent, cid = await _active_chat(chat)
    other, other_welcome = await chat.visitor()
    other_conv = await other.request({"type": "chat_start", "text": "hi"})
    async with server.client() as client:
        mine = await _upload(
            client, cid, "u1", samples.PDF, "a.pdf", {"X-Visitor-Token": welcome["visitor_token"]}
        )
        theirs = await _upload(
            client,
            other_conv["id"],
            "u1",
            samples.PDF,
            "b.pdf",
            {"X-Visitor-Token": other_welcome["visitor_token"]},
        )
        agents = await _upload(
            client, cid, "u2", samples.PDF, "c.pdf", {"Authorization": f"Bearer {chat.agent_token}"}
        )

    async def send(cmid: str, ids: list) -> dict:
        return await visitor.request(
            {
                "type": "message",
                "conversation_id": cid,
                "client_msg_id": cmid,
                "text": "x",
                "attachments": ids,
            }
        )

    cases = [
        (["at_nope"], "not_found", "no such attachment 'at_nope'"),
        ([theirs["id"]], "not_found", f"no such attachment '{theirs['id']}'"),
        ([agents["id"]], "not_found", f"no such attachment '{agents['id']}'"),
        ([mine["id"], mine["id"]], "invalid_frame", "an attachment is listed twice"),
    ]
    for n, (ids, code, message) in enumerate(cases):
        error = await send(f"bad-{n}", ids)
        assert (error["type"], error["code"], error["message"]) == ("error", code, message)
    too_many = await send("bad-many", [f"at_{n}" for n in range(11)])
    assert (too_many["code"], too_many["message"]) == (
        "invalid_frame",
        "field 'attachments' must be a list of at most 10 attachment ids",
    )
    first = await send("ok-1", [mine["id"]])
    assert first["type"] == "message"
    reused = await send("ok-2", [mine["id"]])
    assert (reused["code"], reused["message"]) == (
        "conflict",
        f"attachment '{mine['id']}' is already sent",
    )
    # only the good message was stored after the opening one
    async with server.client() as client:
        history = await client.get(
            f"/api/v1/conversations/{cid}/messages",
            headers={"Authorization": f"Bearer {chat.agent_token}"},
        )
    assert [m.get("client_msg_id") for m in history.json()["items"]][-1] == "ok-1"
    assert len(history.json()["items"]) == 2
    for socket in (visitor, other, agent):
        await socket.close()


async def test_webhook_carries_attachment_metadata_and_a_signed_url(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**beckon_env, "BECKON_ALLOW_PRIVATE_TARGETS": "true", "BECKON_WEBHOOK_POLL_S": "0.1"}
    node = BeckonProcess(env, tmp_path)
    await node.create_admin()
    await node.start()
    receiver = Receiver()
    await receiver.start()
    try:
        chat = await make_chat_site(node)
        admin = {"Authorization": f"Bearer {chat.admin_token}"}
        async with node.client() as client:
            hook = await client.post(
                f"/api/v1/sites/{chat.site['id']}/webhooks",
                json={"url": receiver.url, "events": ["message.created"]},
                headers=admin,
            )
            assert hook.status_code == 201, hook.text
            visitor, welcome, agent, cid = await _active_chat(chat)
            pdf = await _upload(
                client,
                cid,
                "w1",
                samples.PDF,
                "invoice.pdf",
                {"X-Visitor-Token": welcome["visitor_token"]},
            )
            await visitor.request(
                {
                    "type": "message",
                    "conversation_id": cid,
                    "client_msg_id": "w-1",
                    "text": "invoice",
                    "attachments": [pdf["id"]],
                }
            )

            def with_files(requests: list) -> bool:
                return any(b"attachments" in r.body for r in requests)

            requests = await receiver.wait_for(with_files)
            body = next(orjson.loads(r.body) for r in requests if b"attachments" in r.body)
            [item] = body["data"]["message"]["attachments"]
            assert {k: item[k] for k in ("id", "name", "mime", "size")} == {
                "id": pdf["id"],
                "name": "invoice.pdf",
                "mime": "application/pdf",
                "size": len(samples.PDF),
            }
            assert "p=s%3A" + chat.site["id"] in item["url"]
            got = await client.get(item["url"].removeprefix(node.url))
            assert (got.status_code, got.content) == (200, samples.PDF)
        for socket in (visitor, agent):
            await socket.close()
    finally:
        await receiver.stop()
        await node.stop()


async def test_an_internal_note_carries_a_file_the_visitor_never_gets(server) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(server)
    visitor, welcome, agent, cid = await _active_chat(chat)
    vheaders = {"X-Visitor-Token": welcome["visitor_token"]}
    aheaders = {"Authorization": f"Bearer {chat.agent_token}"}
    async with server.client() as client:
        pdf = await _upload(client, cid, "n1", samples.PDF, "refund-form.pdf", aheaders)
        note = await agent.request(
            {
                "type": "message",
                "conversation_id": cid,
                "client_msg_id": "note-1",
                "text": "refund form, for us only",
                "internal": True,
                "attachments": [pdf["id"]],
            }
        )
        assert note["type"] == "message" and note["attachments"][0]["id"] == pdf["id"]
        # A visible message after it: the visitor gets that one, never the note.
        said = await agent.request(
            {"type": "message", "conversation_id": cid, "client_msg_id": "m-2", "text": "ok"}
        )
        seen = await visitor.expect(lambda f: f["type"] == "message" and f["seq"] == said["seq"])
        assert seen["text"] == "ok"
        assert not [f for f in visitor.frames if f.get("seq") == note["seq"]]
        # Nor through the visitor's door to the file: 404, as for any file not theirs.
        refused = await client.get(
            f"/api/v1/conversations/{cid}/attachments/{pdf['id']}", headers=vheaders
        )
        assert refused.status_code == 404, refused.text
        # The agents' history keeps the note with its file.
        history = await client.get(f"/api/v1/conversations/{cid}/messages", headers=aheaders)
        (kept,) = [m for m in history.json()["items"] if m.get("attachments")]
        assert (kept["id"], kept["internal"]) == (note["id"], True)
    for socket in (visitor, agent):
        await socket.close()
