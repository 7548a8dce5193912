"""The REST foundation against a real `beckon serve`: auth, roles, sites, agents, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.beckon_process import ADMIN_EMAIL, BeckonProcess, running_node

API = "/api/v1"
# One server for the module: these tests create their own sites and users and never
# depend on what the others did (login rate limiting has its own server below).
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("api")) as process:
        yield process


async def _make_user(
    admin: httpx.AsyncClient, csrf: str, email: str, role: str, site_ids: list[str] | None = None
) -> dict:
    response = await admin.post(
        f"{API}/agents",
        json={
            "email": email,
            "password": "agent password 1",
            "role": role,
            "display_name": email.split("@")[0],
            "site_ids": site_ids or [],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _make_site(admin: httpx.AsyncClient, csrf: str, name: str) -> dict:
    response = await admin.post(
        f"{API}/sites",
        json={
            "name": name,
            "allowed_origins": ["https://shop.example.com", "https://*.example.org"],
            "timezone": "Europe/Zagreb",
            "departments": ["sales", "support"],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_login_me_logout(shared: BeckonProcess) -> None:
    client, csrf = await shared.login()
    async with client:
        me = (await client.get(f"{API}/me")).json()
        assert me["email"] == ADMIN_EMAIL and me["role"] == "admin" and me["csrf_token"] == csrf
        cookie = client.cookies.get("beckon_session")
        assert cookie
        response = await client.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf})
        assert response.status_code == 200
        # The old cookie no longer works, even if a client keeps sending it.
        client.cookies.set("beckon_session", cookie)
        response = await client.get(f"{API}/me")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_session_cookie_flags(shared: BeckonProcess) -> None:
    async with shared.client() as client:
        response = await client.post(
            f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": "correct horse battery"}
        )
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" not in header


async def test_sites_crud_and_snippet(shared: BeckonProcess) -> None:
    client, csrf = await shared.login()
    async with client:
        site = await _make_site(client, csrf, "Shop")
        assert site["key"].startswith("sk_")
        assert site["allowed_origins"] == ["https://shop.example.com", "https://*.example.org"]
        assert site["snippet"] == (
            f'<script src="{shared.url}/widget.js" data-site="{site["key"]}" async></script>'
        )
        assert len(site["identity_secret"]) == 64
        patched = await client.patch(
            f"{API}/sites/{site['id']}",
            json={"name": "Shop 2", "widget": {"color": "#b91c1c"}, "rotate_identity_secret": True},
            headers={"X-CSRF-Token": csrf},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["name"] == "Shop 2"
        assert patched.json()["widget"]["color"] == "#b91c1c"
        assert patched.json()["identity_secret"] != site["identity_secret"]
        got = (await client.get(f"{API}/sites/{site['id']}")).json()
        assert got["name"] == "Shop 2" and got["timezone"] == "Europe/Zagreb"


async def test_pagination_with_cursor(shared: BeckonProcess) -> None:
    client, csrf = await shared.login()
    async with client:
        created = {(await _make_site(client, csrf, f"S{i}"))["id"] for i in range(5)}
        seen, cursor = [], None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await client.get(f"{API}/sites", params=params)).json()
            assert len(page["items"]) <= 2
            seen += [s["id"] for s in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert created <= set(seen) and len(seen) == len(set(seen))
        bad = await client.get(f"{API}/sites", params={"cursor": "%%%"})
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "cursor"


async def test_roles_and_tenancy(shared: BeckonProcess) -> None:
    admin, csrf = await shared.login()
    async with admin:
        mine = await _make_site(admin, csrf, "Mine")
        other = await _make_site(admin, csrf, "Other")
        await _make_user(admin, csrf, "agent@example.com", "agent", [mine["id"]])
        await _make_user(admin, csrf, "mk@example.com", "marketer", [mine["id"]])
    agent, agent_csrf = await shared.login("agent@example.com", "agent password 1")
    async with agent:
        sites = (await agent.get(f"{API}/sites")).json()["items"]
        assert [s["id"] for s in sites] == [mine["id"]]
        assert sites[0]["identity_secret"] is None  # only admins see the identity secret
        assert (await agent.get(f"{API}/sites/{mine['id']}")).status_code == 200
        # Another site's id and a made-up id get the same answer.
        for site_id in (other["id"], "st_doesnotexist"):
            response = await agent.get(f"{API}/sites/{site_id}")
            assert response.status_code == 404
            assert response.json() == {"error": {"code": "not_found", "message": "no such site"}}
        # Wrong role.
        response = await agent.post(
            f"{API}/sites", json={"name": "x"}, headers={"X-CSRF-Token": agent_csrf}
        )
        assert response.status_code == 403
        assert response.json()["error"] == {
            "code": "forbidden",
            "message": "the agent role cannot do this",
        }
        assert (await agent.get(f"{API}/agents")).status_code == 403


async def test_csrf_is_required_for_cookie_sessions(shared: BeckonProcess) -> None:
    client, _csrf = await shared.login()
    async with client:
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            response = await client.post(f"{API}/sites", json={"name": "x"}, headers=headers)
            assert response.status_code == 403
            assert response.json()["error"]["message"] == "missing or wrong X-CSRF-Token header"
        # Safe methods need none.
        assert (await client.get(f"{API}/sites")).status_code == 200


async def test_api_tokens(shared: BeckonProcess) -> None:
    client, csrf = await shared.login()
    async with client:
        created = await client.post(
            f"{API}/tokens", json={"name": "crm"}, headers={"X-CSRF-Token": csrf}
        )
        assert created.status_code == 201
        token = created.json()["token"]
    async with shared.client() as bearer:
        auth = {"Authorization": f"Bearer {token}"}
        assert (await bearer.get(f"{API}/me", headers=auth)).json()["email"] == ADMIN_EMAIL
        # Bearer requests need no CSRF token.
        response = await bearer.post(f"{API}/sites", json={"name": "Via token"}, headers=auth)
        assert response.status_code == 201
        for header in (f"Bearer {token}x", "Basic abc", "Bearer", "bk_nothing"):
            response = await bearer.get(f"{API}/me", headers={"Authorization": header})
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"


async def test_forged_session_cookie_is_anonymous(shared: BeckonProcess) -> None:
    async with shared.client() as client:
        client.cookies.set("beckon_session", "forged-value")
        response = await client.get(f"{API}/me")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthorized",
        "message": "sign in or send an API token",
    }


async def test_agent_lifecycle_and_last_admin(shared: BeckonProcess) -> None:
    client, csrf = await shared.login()
    h = {"X-CSRF-Token": csrf}
    async with client:
        agent = await _make_user(client, csrf, "a2@example.com", "agent")
        duplicate = await client.post(
            f"{API}/agents",
            json={"email": "A2@example.com", "password": "agent password 1", "display_name": "x"},
            headers=h,
        )
        assert duplicate.status_code == 409
        patched = await client.patch(
            f"{API}/agents/{agent['id']}", json={"capacity": 5, "departments": ["sales"]}, headers=h
        )
        assert patched.json()["capacity"] == 5 and patched.json()["departments"] == ["sales"]
        agent_client, _ = await shared.login("a2@example.com", "agent password 1")
        async with agent_client:
            assert (
                await client.delete(f"{API}/agents/{agent['id']}", headers=h)
            ).status_code == 200
            # Deactivation ends the agent's sessions at once.
            assert (await agent_client.get(f"{API}/me")).status_code == 401
        me = (await client.get(f"{API}/me")).json()
        response = await client.delete(f"{API}/agents/{me['id']}", headers=h)
        assert response.status_code == 409
        assert response.json()["error"]["message"] == "this is the last active admin"
        missing = await client.patch(f"{API}/agents/us_nope", json={"capacity": 2}, headers=h)
        assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b'{"name": 5}', "application/json", 422, "validation_failed"),
        (b'{"name": "x", "colour": "red"}', "application/json", 422, "validation_failed"),
        (b'{"name": "' + b"x" * 10_000 + b'"}', "application/json", 422, "validation_failed"),
        (
            b'{"name": "x", "allowed_origins": ["javascript:alert(1)"]}',
            "application/json",
            422,
            "validation_failed",
        ),
        (
            b'{"name": "x", "timezone": "Mars/Olympus"}',
            "application/json",
            422,
            "validation_failed",
        ),
        (b'{"name": "x"}', "text/plain", 415, "unsupported_media_type"),
        (b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}', "application/json", 413, "too_large"),
        (b"[]", "application/json", 422, "validation_failed"),
    ],
)
async def test_bad_bodies(
    shared: BeckonProcess, body: bytes, content_type: str, status: int, code: str
) -> None:
    client, csrf = await shared.login()
    async with client:
        response = await client.post(
            f"{API}/sites",
            content=body,
            headers={"X-CSRF-Token": csrf, "Content-Type": content_type},
        )
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        # The server is still fine.
        assert (await client.get(f"{API}/sites")).status_code == 200


async def test_validation_details_name_the_field(shared: BeckonProcess) -> None:
    client, csrf = await shared.login()
    async with client:
        response = await client.post(
            f"{API}/sites",
            json={"name": "x", "colour": "red", "widget": {"color": "blue"}},
            headers={"X-CSRF-Token": csrf},
        )
    details = response.json()["error"]["details"]
    assert {"path": "colour", "message": "unknown field"} in details
    assert any(d["path"] == "widget.color" for d in details)


async def test_sql_looking_strings_are_just_text(shared: BeckonProcess) -> None:
    client, csrf = await shared.login()
    name = "Robert'); DROP TABLE sites;--"
    async with client:
        site = await _make_site(client, csrf, name)
        assert (await client.get(f"{API}/sites/{site['id']}")).json()["name"] == name
        response = await client.get(f"{API}/sites/' OR '1'='1")
        assert response.status_code == 404
        names = [s["name"] for s in (await client.get(f"{API}/sites?limit=200")).json()["items"]]
        assert name in names


async def test_login_rate_limit(server: BeckonProcess) -> None:
    async with server.client() as client:
        for _ in range(10):
            response = await client.post(
                f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong"}
            )
            assert response.status_code == 401
        response = await client.post(
            f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": "correct horse battery"}
        )
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(response.headers["retry-after"]) <= 600  # the window's rest


async def test_unknown_route_and_method_are_json(shared: BeckonProcess) -> None:
    async with shared.client() as client:
        missing = await client.get(f"{API}/nothing-here")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        wrong = await client.delete(f"{API}/sites")
        assert wrong.status_code == 405
        assert wrong.json()["error"]["code"] == "method_not_allowed"


async def test_openapi_document_comes_from_the_models(shared: BeckonProcess) -> None:
    async with shared.client() as client:
        doc = (await client.get(f"{API}/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    post_sites = doc["paths"]["/api/v1/sites"]["post"]
    assert post_sites["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SiteCreate"
    }
    assert doc["components"]["schemas"]["SiteCreate"]["additionalProperties"] is False
    assert post_sites["x-roles"] == ["admin"]


async def test_ops_endpoints(shared: BeckonProcess) -> None:
    async with shared.client() as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        metrics = (await client.get("/metrics")).text
    assert "beckon_store_latency_seconds_bucket" in metrics
    assert "beckon_broker_latency_seconds_bucket" in metrics


async def test_console_and_admin_pages_send_a_csp_header(shared: BeckonProcess) -> None:
    async with shared.client() as client:
        for path in ("/agent/", "/admin/"):
            response = await client.get(path)
            assert response.status_code == 200
            policy = response.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
