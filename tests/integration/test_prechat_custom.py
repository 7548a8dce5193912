"""The site's own pre-chat fields: declared on the site (validated),
answered in `chat_start.prechat.fields`, checked by the server with a sentence, and
stored as visitor attributes with their labels."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site

FIELDS = [
    {"id": "phone", "type": "phone", "label": "Phone", "required": True},
    {
        "id": "plan",
        "type": "select",
        "label": "Plan",
        "options": ["Basic", "Pro"],
        "departments": ["sales"],
    },
    {
        "id": "consent",
        "type": "checkbox",
        "label": "I accept the privacy policy",
        "required": True,
        "link": {"text": "Privacy policy", "url": "https://shop.example.com/privacy"},
    },
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("prechat")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    chat = await make_chat_site(node)
    saved = await _patch(chat, {"widget": {"prechat": True, "prechat_custom": FIELDS}})
    assert saved.status_code == 200, saved.text
    return chat


async def _patch(chat: ChatSite, body: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=chat.server_url) as admin:
        return await admin.patch(
            f"/api/v1/sites/{chat.site['id']}",
            json=body,
            headers={"Authorization": f"Bearer {chat.admin_token}"},
        )


async def test_answers_are_checked_and_stored_with_their_labels(chat: ChatSite) -> None:
    visitor, welcome = await chat.visitor()
    assert [f["id"] for f in welcome["widget"]["prechat_custom"]] == ["phone", "plan", "consent"]
    refused = await visitor.request(
        {
            "type": "chat_start",
            "text": "hi",
            "prechat": {"department": "sales", "fields": {"consent": "true"}},
        }
    )
    assert (refused["type"], refused["code"], refused["message"]) == (
        "error",
        "invalid_frame",
        "'Phone' is required",
    )
    refused = await visitor.request(
        {
            "type": "chat_start",
            "text": "hi",
            "prechat": {
                "department": "sales",
                "fields": {"phone": "01 234 567", "consent": "true", "plan": "Gold"},
            },
        }
    )
    assert refused["message"] == "'Plan' must be one of: Basic, Pro"
    started = await visitor.request(
        {
            "type": "chat_start",
            "text": "hi",
            "prechat": {
                "name": "Iva",
                "department": "sales",
                "fields": {"phone": "+385 1 234 5678", "consent": "true", "plan": "Pro"},
            },
        }
    )
    assert started["type"] == "conversation", started
    async with httpx.AsyncClient(base_url=chat.server_url) as admin:
        seen = (
            await admin.get(
                f"/api/v1/sites/{chat.site['id']}/visitors/{welcome['visitor_id']}",
                headers={"Authorization": f"Bearer {chat.admin_token}"},
            )
        ).json()
    assert seen["name"] == "Iva"
    assert {k: seen["attributes"][k] for k in ("phone", "plan", "consent")} == {
        "phone": {"label": "Phone", "value": "+385 1 234 5678"},
        "plan": {"label": "Plan", "value": "Pro"},
        "consent": {"label": "I accept the privacy policy", "value": "true"},
    }
    await visitor.close()


async def test_a_bad_form_is_refused_when_the_site_is_saved(chat: ChatSite) -> None:
    cases = [
        (
            [{"id": "plan", "type": "select", "label": "Plan"}],
            "widget.prechat_custom.0",
            "a select field needs at least one option",
        ),
        (
            [{"id": "x", "type": "text", "label": "X", "options": ["a"]}],
            "widget.prechat_custom.0",
            "only a select field has options",
        ),
        (
            [
                {
                    "id": "x",
                    "type": "text",
                    "label": "X",
                    "link": {"text": "t", "url": "https://a.example"},
                }
            ],
            "widget.prechat_custom.0",
            "only a checkbox field has a link",
        ),
        (
            [{"id": "x", "type": "text", "label": "X"}, {"id": "x", "type": "email", "label": "Y"}],
            "widget.prechat_custom",
            "two pre-chat fields have the id x",
        ),
    ]
    for fields, path, message in cases:
        response = await _patch(chat, {"widget": {"prechat_custom": fields}})
        assert response.status_code == 422
        assert response.json()["error"]["details"] == [{"path": path, "message": message}]
    for bad, path in [
        ({"id": "Bad Id", "type": "text", "label": "X"}, "widget.prechat_custom.0.id"),
        ({"id": "x", "type": "date", "label": "X"}, "widget.prechat_custom.0.type"),
        ({"id": "x", "type": "text", "label": ""}, "widget.prechat_custom.0.label"),
        (
            {
                "id": "x",
                "type": "checkbox",
                "label": "X",
                "link": {"text": "t", "url": "javascript:alert(1)"},
            },
            "widget.prechat_custom.0.link.url",
        ),
    ]:
        response = await _patch(chat, {"widget": {"prechat_custom": [bad]}})
        assert response.status_code == 422
        assert [d["path"] for d in response.json()["error"]["details"]] == [path]
