"""The site's widget look and texts: validated by the API (WCAG AA
contrast, known text keys), sent in `welcome.widget`, and a saved change reaches the
widget at its next page view."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site

LOOK = {
    "color": "#0f766e",
    "text_color": "#ffffff",
    "theme": "dark",
    "position": "left",
    "offset_x": 32,
    "offset_y": 48,
    "launcher_label": "Chat with us",
    "greeting": "Ahoj!",
    "show_agent_name": False,
    "show_agent_avatar": False,
    "z_index": 1000,
    "strings": {"de": {"title": "Schreiben Sie uns", "csat": "Wie zufrieden sind Sie?"}},
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("look")) as process:
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


async def test_the_look_and_texts_reach_the_next_page_view(chat: ChatSite) -> None:
    visitor, welcome = await chat.visitor()
    assert welcome["widget"]["color"] != LOOK["color"]
    saved = await _patch(chat, LOOK)
    assert saved.status_code == 200, saved.text
    assert saved.json()["widget"] == {**saved.json()["widget"], **LOOK}
    # The next page view (a new socket's hello) gets the new look.
    again, welcome = await chat.visitor()
    assert {k: welcome["widget"][k] for k in LOOK} == LOOK
    # No text colour chosen: the widget is told the automatic one (near-black or white).
    assert (await _patch(chat, {"color": "#fde047"})).status_code == 200
    yellow, welcome = await chat.visitor()
    assert (welcome["widget"]["color"], welcome["widget"]["text_color"]) == ("#fde047", "#111827")
    for client in (visitor, again, yellow):
        await client.close()


async def test_contrast_below_wcag_aa_is_refused_with_a_sentence(chat: ChatSite) -> None:
    refused = await _patch(chat, {"color": "#2563eb", "text_color": "#3b82f6"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_failed"
    assert refused.json()["error"]["details"] == [
        {
            "path": "widget",
            "message": "The accent colour #2563eb with the text colour #3b82f6 has a contrast "
            "of 1.41:1; WCAG AA needs at least 4.5:1 for text, so choose a darker or lighter "
            "colour.",
        }
    ]
    # No text colour: the widget's own choice (near-black or white) must pass too.
    grey = await _patch(chat, {"color": "#808080"})
    assert grey.status_code == 422
    assert grey.json()["error"]["details"][0]["message"].startswith(
        "The accent colour #808080 with black or white text has a contrast of 4.49:1;"
    )
    assert (await _patch(chat, {"color": "#808080", "text_color": "#000000"})).status_code == 200


async def test_bad_texts_and_bounds_are_refused(chat: ChatSite) -> None:
    unknown = await _patch(chat, {"strings": {"fr": {"title": "Bonjour", "bogus": "x"}}})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"] == [
        {
            "path": "widget.strings",
            "message": "fr has texts the widget does not show: bogus (the keys are those of "
            "widget/i18n/en.json, and greeting and launcher_label)",
        }
    ]
    for bad, path in [
        ({"strings": {"French": {"title": "x"}}}, "widget.strings.French.[key]"),
        ({"strings": {"fr": {"title": "x" * 501}}}, "widget.strings.fr.title"),
        ({"theme": "pink"}, "widget.theme"),
        ({"offset_x": 401}, "widget.offset_x"),
        ({"z_index": -1}, "widget.z_index"),
        ({"launcher_label": "x" * 41}, "widget.launcher_label"),
        ({"text_color": "white"}, "widget.text_color"),
    ]:
        response = await _patch(chat, bad)
        assert response.status_code == 422, bad
        assert [d["path"] for d in response.json()["error"]["details"]] == [path], response.text


async def test_greeting_and_launcher_label_per_language(chat: ChatSite) -> None:
    texts = {
        "greeting": "Hi there!",
        "launcher_label": "Help",
        "strings": {"hr": {"greeting": "Bok! Kako vam možemo pomoći?", "launcher_label": "Pomoć"}},
    }
    assert (await _patch(chat, texts)).status_code == 200
    croatian, welcome = await chat.visitor(lang="hr-HR")
    assert (welcome["widget"]["greeting"], welcome["widget"]["launcher_label"]) == (
        "Bok! Kako vam možemo pomoći?",
        "Pomoć",
    )
    english, welcome = await chat.visitor(lang="en")
    assert (welcome["widget"]["greeting"], welcome["widget"]["launcher_label"]) == (
        "Hi there!",
        "Help",
    )
    for client in (croatian, english):
        await client.close()
