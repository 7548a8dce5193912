"""Surveys worded by the site: the thumbs up/down kind, the questions
per language in `widget.strings`, the comment box optional for the site."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site

WORDING = {
    "survey": ["thumbs", "csat"],
    "survey_comment": False,
    "strings": {
        "en": {"thumbs": "Did Ana solve it?", "csat": "Rate your chat"},
        "hr": {"thumbs": "Je li Ana riješila problem?"},
    },
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("survey")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


async def _patch(chat: ChatSite, widget: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=chat.server_url) as admin:
        return await admin.patch(
            f"/api/v1/sites/{chat.site['id']}",
            json={"widget": widget},
            headers={"Authorization": f"Bearer {chat.admin_token}"},
        )


async def test_thumbs_survey_with_the_sites_wording(chat: ChatSite) -> None:
    assert (await _patch(chat, WORDING)).status_code == 200
    visitor, welcome = await chat.visitor()
    assert welcome["widget"]["survey_comment"] is False
    assert welcome["widget"]["strings"] == WORDING["strings"]
    conv = await visitor.request({"type": "chat_start", "text": "hi"})
    agent, _ = await chat.agent_socket()
    await agent.request({"type": "accept", "conversation_id": conv["id"]})
    await agent.request({"type": "close", "conversation_id": conv["id"]})
    closed = await visitor.expect("closed")
    assert closed["survey"] == ["thumbs", "csat"]
    bad = await visitor.request(
        {"type": "survey", "conversation_id": conv["id"], "kind": "thumbs", "score": 2}
    )
    assert bad["code"] == "invalid_frame"
    assert "must be from 0 to 1 for thumbs" in bad["message"]
    up = await visitor.request(
        {"type": "survey", "conversation_id": conv["id"], "kind": "thumbs", "score": 1}
    )
    assert (up["type"], up["kind"]) == ("survey_saved", "thumbs")
    for client in (visitor, agent):
        await client.close()


async def test_bad_survey_settings_are_refused(chat: ChatSite) -> None:
    for widget, path in [
        ({"survey": ["stars"]}, "widget.survey.0"),
        ({"survey_comment": "no"}, "widget.survey_comment"),
        ({"strings": {"en": {"thumbs": "x" * 501}}}, "widget.strings.en.thumbs"),
    ]:
        response = await _patch(chat, widget)
        assert response.status_code == 422
        assert [d["path"] for d in response.json()["error"]["details"]] == [path]
