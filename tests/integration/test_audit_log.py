"""The audit log against a real `beckon serve`: each kind of change is
recorded with who, when, what (before/after) and from which IP; only admins read it,
filtered or as CSV; nothing writes it over REST."""

from __future__ import annotations

import csv
import io
from contextlib import aclosing
from typing import Any

import httpx
import pytest

from tests.beckon_process import ADMIN_EMAIL, BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site

API = "/api/v1"
RULE = {
    "name": "Checkout help",
    "when": {"fact": "page.path", "op": "glob", "value": "/checkout*"},
    "variants": [{"id": "a", "text": {"en": "Need a hand?"}}],
}


@pytest.fixture
def beckon_env(beckon_env: dict[str, str]) -> dict[str, str]:
    return {**beckon_env, "BECKON_ALLOW_PRIVATE_TARGETS": "true"}


def _client(chat: ChatSite, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url, timeout=20, headers={"Authorization": f"Bearer {token}"}
    )


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


async def _entries(admin: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    return (await _ok(await admin.get(f"{API}/audit", params={"limit": "200", **params})))["items"]


async def test_each_kind_of_change_is_recorded(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    site = chat.site["id"]
    async with aclosing(_client(chat, chat.admin_token)) as admin:
        # Sites and origins: before/after of the setting, and no secret in either.
        await _ok(
            await admin.patch(f"{API}/sites/{site}", json={"allowed_origins": ["https://b.test"]})
        )
        # Team and roles.
        await _ok(await admin.patch(f"{API}/agents/{chat.agent['id']}", json={"role": "marketer"}))
        # Rules.
        rule = await _ok(await admin.post(f"{API}/sites/{site}/rules", json=RULE), 201)
        await _ok(
            await admin.patch(f"{API}/sites/{site}/rules/{rule['id']}", json={"enabled": False})
        )
        await _ok(await admin.delete(f"{API}/sites/{site}/rules/{rule['id']}"))
        # Webhooks.
        hook = await _ok(
            await admin.post(
                f"{API}/sites/{site}/webhooks",
                json={"url": "http://127.0.0.1:9/hook", "events": ["survey.submitted"]},
            ),
            201,
        )
        await _ok(await admin.delete(f"{API}/sites/{site}/webhooks/{hook['id']}"))
        # Tokens.
        token = await _ok(await admin.post(f"{API}/tokens", json={"name": "ci"}), 201)
        await _ok(await admin.delete(f"{API}/tokens/{token['id']}"))
        # A refused change records nothing.
        refused = await admin.patch(f"{API}/sites/{site}", json={"timezone": "Mars/Base"})
        assert refused.status_code == 422

        items = await _entries(admin)
    actions = [e["action"] for e in reversed(items)]
    assert actions == [
        "user.create",  # the admin, made at the command line
        "site.create",
        "user.create",
        "token.create",  # make_chat_site's admin token
        "token.create",  # and the agent's console token
        "site.update",
        "user.update",
        "rule.create",
        "rule.update",
        "rule.delete",
        "webhook.create",
        "webhook.delete",
        "token.create",
        "token.revoke",
    ]
    by_action = {e["action"]: e for e in items}  # the newest of each
    cli = items[-1]
    assert (cli["actor_id"], cli["actor_email"], cli["ip"]) == (None, None, None)
    assert (cli["after"]["email"], cli["after"]["password_hash"]) == (ADMIN_EMAIL, "[redacted]")
    for entry in items[:-1]:
        assert entry["ip"] == "127.0.0.1"
        assert entry["ts"] > 0
    site_update = by_action["site.update"]
    assert (site_update["actor_email"], site_update["actor_role"]) == (ADMIN_EMAIL, "admin")
    assert (site_update["site_id"], site_update["target"]) == (site, site)
    assert site_update["before"]["allowed_origins"] == chat.site["allowed_origins"]
    assert site_update["after"]["allowed_origins"] == ["https://b.test"]
    assert site_update["before"]["identity_secret"] == "[redacted]"
    role = by_action["user.update"]
    assert (role["target"], role["before"]["role"], role["after"]["role"]) == (
        chat.agent["id"], "agent", "marketer",
    )  # fmt: skip
    assert role["after"]["password_hash"] == "[redacted]"
    assert role["after"]["site_ids"] == [site]
    rule_update = by_action["rule.update"]
    assert (rule_update["before"]["enabled"], rule_update["after"]["enabled"]) == (True, False)
    assert by_action["rule.delete"]["after"] is None
    assert by_action["rule.create"]["before"] is None
    assert by_action["rule.create"]["target"] == rule["id"]
    webhook = by_action["webhook.create"]
    assert webhook["after"]["url"] == "http://127.0.0.1:9/hook"
    assert webhook["after"]["secret"] == "[redacted]"
    assert by_action["token.revoke"]["after"]["revoked"] is True
    assert "token_hash" not in by_action["token.revoke"]["after"]
    assert chat.site["identity_secret"] not in str(items)


async def test_agent_changes_are_recorded_under_the_agent(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    site = chat.site["id"]
    async with aclosing(_client(chat, chat.agent_token)) as agent:
        reply = await _ok(
            await agent.post(
                f"{API}/sites/{site}/canned-replies", json={"shortcut": "hi", "text": "Hello"}
            ),
            201,
        )
        # Agents may not read the log.
        forbidden = await agent.get(f"{API}/audit")
        assert (forbidden.status_code, forbidden.json()["error"]["code"]) == (403, "forbidden")
    async with aclosing(_client(chat, chat.admin_token)) as admin:
        items = await _entries(admin, actor_id=chat.agent["id"])
    assert [(e["action"], e["target"], e["actor_role"]) for e in items] == [
        ("canned_reply.create", reply["id"], "agent"),
        ("token.create", items[1]["target"], "agent"),
    ]


async def test_filters_pages_and_csv(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    site = chat.site["id"]
    async with aclosing(_client(chat, chat.admin_token)) as admin:
        for name in ("One", "Two", "=Three"):
            await _ok(await admin.patch(f"{API}/sites/{site}", json={"name": name}))
        updates = await _entries(admin, action="site.update")
        assert [e["after"]["name"] for e in updates] == ["=Three", "Two", "One"]
        kind = await _entries(admin, action="site.")
        assert [e["action"] for e in kind] == ["site.update"] * 3 + ["site.create"]
        assert await _entries(admin, site_id="st_nothing") == []
        since = updates[1]["ts"]
        assert all(e["ts"] >= since for e in await _entries(admin, from_ts=str(since)))
        # Before the site existed: only the admin made at the command line.
        early = await _entries(admin, to_ts=str(chat.site["created_ts"]))
        assert [(e["action"], e["actor_id"]) for e in early] == [("user.create", None)]

        first = await _ok(await admin.get(f"{API}/audit", params={"limit": "2"}))
        assert len(first["items"]) == 2 and first["next_cursor"] is not None
        second = await _ok(
            await admin.get(f"{API}/audit", params={"limit": "2", "cursor": first["next_cursor"]})
        )
        assert second["items"][0]["id"] < first["items"][-1]["id"]

        exported = await admin.get(f"{API}/audit", params={"format": "csv", "action": "site."})
        assert exported.status_code == 200
        assert exported.headers["content-type"] == "text/csv; charset=utf-8"
        assert "beckon-audit.csv" in exported.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [r["action"] for r in rows] == ["site.update"] * 3 + ["site.create"]
        assert rows[0]["actor_email"] == ADMIN_EMAIL
        # A name that a spreadsheet would run as a formula is quoted.
        assert '"name":"=Three"' in rows[0]["after"]

        empty = await admin.get(f"{API}/audit", params={"format": "csv", "site_id": "st_none"})
        assert empty.text.startswith("id,ts,actor_id,")

        bad = await admin.get(f"{API}/audit", params={"action": "Rule Update", "limit": "0"})
        assert bad.status_code == 422
        assert sorted(d["path"] for d in bad.json()["error"]["details"]) == ["action", "limit"]


async def test_the_log_is_not_writable_over_rest(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    async with aclosing(_client(chat, chat.admin_token)) as admin:
        before = await _entries(admin)
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = await admin.request(method, f"{API}/audit", json={"action": "x"})
            assert response.status_code == 405, (method, response.text)
            entry = f"{API}/audit/{before[0]['id']}"
            assert (await admin.request(method, entry)).status_code in (404, 405)
        assert await _entries(admin) == before
