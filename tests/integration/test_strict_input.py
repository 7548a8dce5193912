"""Strict input against a real `beckon serve`: an explicit null for a field that cannot
be null, a wrong type, a Unicode digit or an overflowing integer in the query string, a
NUL in a search or a body — each a 422 naming the field, with nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import create_pg_database, drop_pg_database

pytestmark = pytest.mark.asyncio(loop_scope="module")
API = "/api/v1"
DIGITS = "must be a whole number written with the digits 0-9"
TOO_BIG = "Input should be less than or equal to 9007199254740991"


@pytest_asyncio.fixture(
    scope="module",
    loop_scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
async def node(request, tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    # Both stores: SQLite overflowed on 40-digit integers, PostgreSQL refuses NUL in text.
    env, url = {}, None
    if request.param == "postgres":
        url = await create_pg_database()
        env["BECKON_DATABASE_URL"] = url
    try:
        async with running_node(tmp_path_factory.mktemp("strict"), env=env) as process:
            yield process
    finally:
        if url is not None:
            await drop_pg_database(url)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


def admin(chat: ChatSite) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url,
        headers={"Authorization": f"Bearer {chat.admin_token}"},
        timeout=10,
    )


def details(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "validation_failed"
    return body["details"]


SITE_FIELDS = [
    "name",
    "allowed_origins",
    "timezone",
    "default_lang",
    "languages",
    "widget",
    "departments",
    "settings",
    "rotate_identity_secret",
]


@pytest.mark.parametrize("field", SITE_FIELDS)
async def test_null_site_fields_are_refused_and_the_site_still_serves(
    chat: ChatSite, field: str
) -> None:
    site = chat.site["id"]
    async with admin(chat) as client:
        before = (await client.get(f"{API}/sites/{site}")).json()
        response = await client.patch(f"{API}/sites/{site}", json={field: None})
        [detail] = details(response)
        assert detail["path"] == field
        after = (await client.get(f"{API}/sites/{site}")).json()
    assert after == before
    visitor, welcome = await chat.visitor()  # the site's widget still connects
    assert welcome["type"] == "welcome"
    await visitor.close()


async def test_wrong_types_name_the_field_and_store_nothing(chat: ChatSite) -> None:
    site = chat.site["id"]
    async with admin(chat) as client:
        before = (await client.get(f"{API}/sites/{site}")).json()
        for body, path in (
            ({"name": 5}, "name"),
            ({"departments": "sales"}, "departments"),
            ({"widget": {"sound": "loud"}}, "widget.sound"),
            ({"settings": {"queue_timeout_s": "600"}}, "settings.queue_timeout_s"),
            ({"name": "ok", "timezone": None}, "timezone"),  # nothing of it is stored
        ):
            response = await client.patch(f"{API}/sites/{site}", json=body)
            assert [d["path"] for d in details(response)] == [path], body
        assert (await client.get(f"{API}/sites/{site}")).json() == before
        # business_hours may be null (always open): that is a value, not a mistake.
        cleared = await client.patch(f"{API}/sites/{site}", json={"business_hours": None})
        assert cleared.status_code == 200 and cleared.json()["business_hours"] is None


AGENT_FIELDS = [
    "password",
    "role",
    "display_name",
    "capacity",
    "departments",
    "site_ids",
    "active",
]


async def test_null_agent_fields_are_refused(chat: ChatSite) -> None:
    agent = chat.agent["id"]
    async with admin(chat) as client:
        listed = (await client.get(f"{API}/agents", params={"limit": "200"})).json()["items"]
        before = next(a for a in listed if a["id"] == agent)
        for field in AGENT_FIELDS:
            response = await client.patch(f"{API}/agents/{agent}", json={field: None})
            assert [d["path"] for d in details(response)] == [field]
        wrong = await client.patch(f"{API}/agents/{agent}", json={"capacity": "3"})
        assert [d["path"] for d in details(wrong)] == ["capacity"]
        listed = (await client.get(f"{API}/agents", params={"limit": "200"})).json()["items"]
        assert next(a for a in listed if a["id"] == agent) == before
        # avatar_url may be null: no avatar.
        cleared = await client.patch(f"{API}/agents/{agent}", json={"avatar_url": None})
        assert cleared.status_code == 200 and cleared.json()["avatar_url"] is None
    # The agent still signs in to its socket with the same token.
    socket, welcome = await chat.agent_socket()
    assert welcome["type"] == "welcome"
    await socket.close()


async def test_query_parameters_are_strict(chat: ChatSite) -> None:
    site = chat.site["id"]
    visitor, _ = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "Where is my parcel?"})
    await visitor.close()
    conversations = f"{API}/sites/{site}/conversations"
    messages = f"{API}/conversations/{conv['id']}/messages"
    cases = [
        (f"{API}/sites", {"limit": "²"}, "limit", DIGITS),
        (f"{API}/sites", {"limit": "٣"}, "limit", DIGITS),
        (f"{API}/sites", {"limit": "+5"}, "limit", DIGITS),
        (f"{API}/sites", {"limit": "0"}, "limit", "Input should be greater than or equal to 1"),
        (f"{API}/agents", {"limit": " 5"}, "limit", DIGITS),
        (messages, {"after_seq": "9" * 40}, "after_seq", TOO_BIG),
        (messages, {"after_seq": "-1"}, "after_seq", DIGITS),
        (conversations, {"from_ts": "1" * 40}, "from_ts", TOO_BIG),
        (conversations, {"to_ts": "1e9"}, "to_ts", DIGITS),
        (
            conversations,
            {"status": "open"},
            "status",
            "Input should be 'queued', 'active' or 'closed'",
        ),
        (conversations, {"q": "\x00"}, "q", "String should match pattern '^[^\\x00-\\x1f\\x7f]*$'"),
        (conversations, {"q": "x" * 201}, "q", "String should have at most 200 characters"),
        (f"{API}/sites/{site}/offline-messages", {"limit": "1" * 40}, "limit", None),
    ]
    async with admin(chat) as client:
        for url, params, path, message in cases:
            response = await client.get(url, params=params)
            [detail] = details(response)
            assert detail["path"] == path, (url, params)
            if message is not None:
                assert detail["message"] == message, (url, params)
        # The same parameters, well formed, work.
        found = await client.get(
            conversations, params={"q": "parcel", "from_ts": "0", "status": "", "to_ts": ""}
        )
        assert found.status_code == 200
        assert [c["id"] for c in found.json()["items"]] == [conv["id"]]
        page = await client.get(messages, params={"after_seq": "0", "limit": "1"})
        assert page.status_code == 200 and len(page.json()["items"]) == 1


async def test_bad_ids_in_paths_and_nul_in_bodies(chat: ChatSite) -> None:
    async with admin(chat) as client:
        for url, message in (
            (f"{API}/sites/%00", "no such site"),
            (f"{API}/sites/a%20b", "no such site"),
            (f"{API}/conversations/{'x' * 65}", "no such conversation"),
        ):
            response = await client.get(url)
            assert response.status_code == 404, url
            assert response.json()["error"] == {"code": "not_found", "message": message}
        response = await client.post(f"{API}/sites", json={"name": "a\x00b"})
        assert details(response) == [
            {"path": "(body)", "message": "NUL characters (\\u0000) are not allowed"}
        ]
        names = [s["name"] for s in (await client.get(f"{API}/sites")).json()["items"]]
        assert "a\x00b" not in names
        # An escaped backslash before "u0000" is text, not a NUL.
        text = await client.post(f"{API}/sites", json={"name": "a\\u0000b"})
        assert text.status_code == 201 and text.json()["name"] == "a\\u0000b"
