"""Export and erase requests that are wrong: each gets an exact 4xx answer,
never a 500, and changes nothing. The full erasure is in test_privacy_erase.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site

pytestmark = pytest.mark.asyncio(loop_scope="module")
ONE_OF = "name the visitor by exactly one of visitor_id, email, user_id"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("privacy")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


def client(chat: ChatSite, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.mark.parametrize("action", ["export", "erase"])
@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({}, "(body)", ONE_OF),
        ({"visitor_id": "vi_1", "email": "a@example.com"}, "(body)", ONE_OF),
        (
            {"visitor_id": "../etc"},
            "visitor_id",
            "Visitor id has characters or a form that is not allowed here.",
        ),
        ({"email": 5}, "email", "Email must be text."),
        ({"user_id": ""}, "user_id", "User id must not be empty."),
        ({"phone": "+385"}, "phone", "unknown field"),
    ],
)
async def test_a_bad_subject_is_422_naming_the_field(
    chat: ChatSite, action: str, body: dict, path: str, message: str
) -> None:
    async with client(chat, chat.admin_token) as admin:
        answer = await admin.post(f"/api/v1/sites/{chat.site['id']}/privacy/{action}", json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    assert {"path": path, "message": message} in error["details"]


@pytest.mark.parametrize("action", ["export", "erase"])
async def test_nobody_known_is_404(chat: ChatSite, action: str) -> None:
    async with client(chat, chat.admin_token) as admin:
        site = chat.site["id"]
        for subject, named in (
            ({"visitor_id": "vi_nobody"}, "visitor vi_nobody"),
            ({"email": "nobody@example.com"}, "that email"),
            ({"user_id": "no-such-customer"}, "that external id"),
        ):
            answer = await admin.post(f"/api/v1/sites/{site}/privacy/{action}", json=subject)
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"] == {
                "code": "not_found",
                "message": f"Beckon holds no records of {named} on this site",
            }
        unknown = await admin.post(
            f"/api/v1/sites/st_nosuch/privacy/{action}", json={"visitor_id": "vi_1"}
        )
        assert unknown.status_code == 404
        assert unknown.json()["error"] == {"code": "not_found", "message": "no such site"}


async def test_a_visitor_of_another_site_is_not_found(chat: ChatSite) -> None:
    """Ids are per site: a visitor of site A cannot be exported or erased through B."""
    visitor, welcome = await chat.visitor()
    async with client(chat, chat.admin_token) as admin:
        other = (await admin.post("/api/v1/sites", json={"name": "Other shop"})).json()
        for action in ("export", "erase"):
            answer = await admin.post(
                f"/api/v1/sites/{other['id']}/privacy/{action}",
                json={"visitor_id": welcome["visitor_id"]},
            )
            assert answer.status_code == 404, answer.text
        still = await admin.post(
            f"/api/v1/sites/{chat.site['id']}/privacy/export",
            json={"visitor_id": welcome["visitor_id"]},
        )
        assert still.status_code == 200, still.text
    await visitor.close()


async def test_an_agent_may_export_but_not_erase(chat: ChatSite) -> None:
    visitor, welcome = await chat.visitor()
    subject = {"visitor_id": welcome["visitor_id"]}
    async with client(chat, chat.agent_token) as agent:
        exported = await agent.post(f"/api/v1/sites/{chat.site['id']}/privacy/export", json=subject)
        assert exported.status_code == 200, exported.text
        refused = await agent.post(f"/api/v1/sites/{chat.site['id']}/privacy/erase", json=subject)
        assert refused.status_code == 403
        assert refused.json()["error"] == {
            "code": "forbidden",
            "message": "the agent role cannot do this",
        }
    async with httpx.AsyncClient(base_url=chat.server_url, timeout=30) as anonymous:
        answer = await anonymous.post(
            f"/api/v1/sites/{chat.site['id']}/privacy/export", json=subject
        )
        assert answer.status_code == 401
    # Nothing was erased: the visitor is still there.
    async with client(chat, chat.admin_token) as admin:
        again = await admin.post(f"/api/v1/sites/{chat.site['id']}/privacy/export", json=subject)
        assert again.status_code == 200
    await visitor.close()
