"""Sessions and API tokens against a real `beckon serve`: list them, end them, expire
them; a password change ends every other session and every token."""

from __future__ import annotations

from contextlib import aclosing

import httpx

from server.ids import now_ms
from tests.beckon_process import ADMIN_EMAIL, ADMIN_PASSWORD, BeckonProcess
from tests.chat_setup import make_chat_site
from tests.waiting import wait_until
from tests.ws_client import WsClient, ws_url

API = "/api/v1"
AGENT_EMAIL = "agent@example.com"
AGENT_PASSWORD = "agent password 1"


async def _sign_in(
    node: BeckonProcess, email: str, password: str, agent: str
) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=node.url, timeout=10, headers={"User-Agent": agent})
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return client, response.json()["csrf_token"]


async def _token(client: httpx.AsyncClient, csrf: str, **body: object) -> dict:
    response = await client.post(f"{API}/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    return response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _me_status(node: BeckonProcess, **kw: object) -> int:
    async with node.client() as client:
        return (await client.get(f"{API}/me", **kw)).status_code


async def test_session_list_and_ending_one(server: BeckonProcess) -> None:
    laptop, laptop_csrf = await _sign_in(server, ADMIN_EMAIL, ADMIN_PASSWORD, "Laptop/1.0")
    phone, _ = await _sign_in(server, ADMIN_EMAIL, ADMIN_PASSWORD, "Phone/2.0")
    async with aclosing(laptop), aclosing(phone):
        listed = (await laptop.get(f"{API}/me/sessions")).json()["items"]
        assert [(s["user_agent"], s["current"], s["ip"]) for s in listed] == [
            ("Phone/2.0", False, "127.0.0.1"),
            ("Laptop/1.0", True, "127.0.0.1"),
        ]
        assert set(listed[0]) == {
            "id", "created_ts", "last_used_ts", "expires_ts", "ip", "user_agent", "current"
        }  # fmt: skip
        phone_id = listed[0]["id"]
        h = {"X-CSRF-Token": laptop_csrf}
        ended = await laptop.delete(f"{API}/me/sessions/{phone_id}", headers=h)
        assert ended.json() == {"ok": True, "id": phone_id}
        assert (await phone.get(f"{API}/me")).status_code == 401
        again = await laptop.delete(f"{API}/me/sessions/{phone_id}", headers=h)
        assert (again.status_code, again.json()["error"]["code"]) == (404, "not_found")
        assert [
            s["user_agent"] for s in (await laptop.get(f"{API}/me/sessions")).json()["items"]
        ] == ["Laptop/1.0"]


async def test_another_users_session_cannot_be_ended(server: BeckonProcess) -> None:
    await make_chat_site(server)
    admin, _ = await _sign_in(server, ADMIN_EMAIL, ADMIN_PASSWORD, "A")
    agent, agent_csrf = await _sign_in(server, AGENT_EMAIL, AGENT_PASSWORD, "B")
    async with aclosing(admin), aclosing(agent):
        admin_session = (await admin.get(f"{API}/me/sessions")).json()["items"][0]["id"]
        response = await agent.delete(
            f"{API}/me/sessions/{admin_session}", headers={"X-CSRF-Token": agent_csrf}
        )
        assert response.status_code == 404
        assert (await admin.get(f"{API}/me")).status_code == 200


async def test_sign_out_everywhere_ends_every_session_but_not_tokens(server: BeckonProcess) -> None:
    one, one_csrf = await _sign_in(server, ADMIN_EMAIL, ADMIN_PASSWORD, "One")
    two, _ = await _sign_in(server, ADMIN_EMAIL, ADMIN_PASSWORD, "Two")
    async with aclosing(one), aclosing(two):
        token = (await _token(one, one_csrf, name="crm"))["token"]
        by_cookie = await WsClient.connect(
            ws_url(server.url, "/ws/agent"),
            origin=server.url,
            headers={"Cookie": f"beckon_session={two.cookies.get('beckon_session')}"},
        )
        await by_cookie.expect("welcome")
        by_token = await WsClient.connect(ws_url(server.url, "/ws/agent"), origin=None)
        await by_token.send({"type": "hello", "token": token})
        await by_token.expect("welcome")
        response = await one.post(f"{API}/auth/logout-all", headers={"X-CSRF-Token": one_csrf})
        assert response.json() == {"ok": True}
        assert (await one.get(f"{API}/me")).status_code == 401
        assert (await two.get(f"{API}/me")).status_code == 401
        assert await by_cookie.closed() == (4401, "session revoked")
    assert await _me_status(server, headers=_bearer(token)) == 200
    pong = await by_token.request({"type": "ping"})  # the token's socket stays open
    assert pong["type"] == "pong"
    await by_token.close()


async def test_password_change_ends_other_sessions_tokens_and_their_sockets(
    server: BeckonProcess,
) -> None:
    chat = await make_chat_site(server)  # the agent has a token (chat.agent_token)
    current, csrf = await _sign_in(server, AGENT_EMAIL, AGENT_PASSWORD, "Current")
    other, _ = await _sign_in(server, AGENT_EMAIL, AGENT_PASSWORD, "Other")
    token_socket, _ = await chat.agent_socket()
    cookie_socket = await WsClient.connect(
        ws_url(server.url, "/ws/agent"),
        origin=server.url,
        headers={"Cookie": f"beckon_session={other.cookies.get('beckon_session')}"},
    )
    await cookie_socket.expect("welcome")
    async with aclosing(current), aclosing(other):
        h = {"X-CSRF-Token": csrf}
        wrong = await current.post(
            f"{API}/me/password",
            json={"current_password": "not it", "new_password": "a new password 2"},
            headers=h,
        )
        assert wrong.status_code == 403
        assert wrong.json()["error"]["message"] == "the current password is wrong"
        short = await current.post(
            f"{API}/me/password",
            json={"current_password": AGENT_PASSWORD, "new_password": "short"},
            headers=h,
        )
        assert short.status_code == 422
        assert short.json()["error"]["details"][0]["path"] == "new_password"
        assert (await other.get(f"{API}/me")).status_code == 200  # nothing changed yet

        changed = await current.post(
            f"{API}/me/password",
            json={"current_password": AGENT_PASSWORD, "new_password": "a new password 2"},
            headers=h,
        )
        assert changed.json() == {"ok": True}
        assert (await current.get(f"{API}/me")).status_code == 200  # this session stays
        assert (await other.get(f"{API}/me")).status_code == 401
        assert await _me_status(server, headers=_bearer(chat.agent_token)) == 401
        assert await cookie_socket.closed() == (4401, "session revoked")
        assert await token_socket.closed() == (4401, "token revoked")
    async with server.client() as client:
        old = await client.post(
            f"{API}/auth/login", json={"email": AGENT_EMAIL, "password": AGENT_PASSWORD}
        )
        assert old.status_code == 401
        new = await client.post(
            f"{API}/auth/login", json={"email": AGENT_EMAIL, "password": "a new password 2"}
        )
        assert new.status_code == 200


async def test_an_admin_password_reset_ends_the_users_sessions_and_tokens(
    server: BeckonProcess,
) -> None:
    chat = await make_chat_site(server)
    agent, _ = await _sign_in(server, AGENT_EMAIL, AGENT_PASSWORD, "Agent")
    admin, csrf = await _sign_in(server, ADMIN_EMAIL, ADMIN_PASSWORD, "Admin")
    async with aclosing(agent), aclosing(admin):
        response = await admin.patch(
            f"{API}/agents/{chat.agent['id']}",
            json={"password": "reset by admin 3"},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code == 200
        assert (await agent.get(f"{API}/me")).status_code == 401
        assert (await admin.get(f"{API}/me")).status_code == 200
    assert await _me_status(server, headers=_bearer(chat.agent_token)) == 401


async def test_tokens_list_revoke_and_secret_shown_once(server: BeckonProcess) -> None:
    admin, csrf = await _sign_in(server, ADMIN_EMAIL, ADMIN_PASSWORD, "Admin")
    h = {"X-CSRF-Token": csrf}
    async with aclosing(admin):
        created = await _token(admin, csrf, name="crm")
        assert set(created) == {"id", "name", "created_ts", "last_used_ts", "expires_ts", "token"}
        assert created["token"].startswith("bk_") and created["expires_ts"] is None
        assert await _me_status(server, headers=_bearer(created["token"])) == 200
        listed = (await admin.get(f"{API}/tokens")).json()["items"]
        assert [t["id"] for t in listed] == [created["id"]]
        assert set(listed[0]) == {"id", "name", "created_ts", "last_used_ts", "expires_ts"}
        assert listed[0]["last_used_ts"] is not None  # the bearer request above
        revoked = await admin.delete(f"{API}/tokens/{created['id']}", headers=h)
        assert revoked.json() == {"ok": True, "id": created["id"]}
        assert await _me_status(server, headers=_bearer(created["token"])) == 401
        assert (await admin.get(f"{API}/tokens")).json()["items"] == []
        again = await admin.delete(f"{API}/tokens/{created['id']}", headers=h)
        assert (again.status_code, again.json()["error"]["code"]) == (404, "not_found")
        missing = await admin.delete(f"{API}/tokens/tk_nothing", headers=h)
        assert missing.status_code == 404


async def test_an_agent_cannot_revoke_someone_elses_token(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    admin, admin_csrf = await _sign_in(server, ADMIN_EMAIL, ADMIN_PASSWORD, "Admin")
    agent, agent_csrf = await _sign_in(server, AGENT_EMAIL, AGENT_PASSWORD, "Agent")
    async with aclosing(admin), aclosing(agent):
        theirs = await _token(admin, admin_csrf, name="admin's")
        response = await agent.delete(
            f"{API}/tokens/{theirs['id']}", headers={"X-CSRF-Token": agent_csrf}
        )
        assert response.status_code == 404
        assert theirs["id"] not in [
            t["id"] for t in (await agent.get(f"{API}/tokens")).json()["items"]
        ]
        assert await _me_status(server, headers=_bearer(theirs["token"])) == 200
        # An admin may revoke any user's token.
        agent_tokens = (await agent.get(f"{API}/tokens")).json()[
            "items"
        ]  # the console token make_chat_site created
        assert len(agent_tokens) == 1
        response = await admin.delete(
            f"{API}/tokens/{agent_tokens[0]['id']}", headers={"X-CSRF-Token": admin_csrf}
        )
        assert response.status_code == 200
    assert await _me_status(server, headers=_bearer(chat.agent_token)) == 401


async def test_token_expiry(server: BeckonProcess) -> None:
    admin, csrf = await _sign_in(server, ADMIN_EMAIL, ADMIN_PASSWORD, "Admin")
    h = {"X-CSRF-Token": csrf}
    async with aclosing(admin):
        for bad, message in (
            (now_ms() - 1000, "must be in the future"),
            ("4102444800000", "Expires time must be a whole number."),
            (True, "Expires time must be a whole number."),
            (-1, "Expires time must be at least 0."),
        ):
            response = await admin.post(
                f"{API}/tokens", json={"name": "x", "expires_ts": bad}, headers=h
            )
            assert response.status_code == 422, bad
            assert response.json()["error"]["details"] == [
                {"path": "expires_ts", "message": message}
            ], bad
        assert (await admin.get(f"{API}/tokens")).json()["items"] == []  # nothing stored
        expires = now_ms() + 3000
        short = await _token(admin, csrf, name="short", expires_ts=expires)
        assert short["expires_ts"] == expires
    assert await _me_status(server, headers=_bearer(short["token"])) == 200
    socket = await WsClient.connect(ws_url(server.url, "/ws/agent"), origin=None)
    await socket.send({"type": "hello", "token": short["token"]})
    await socket.expect("welcome")

    async def status() -> int:
        return await _me_status(server, headers=_bearer(short["token"]))

    await wait_until(status, lambda code: code == 401, timeout=15, what="the token to expire")
    # The open socket is closed when the token expires, not at the next periodic re-check.
    assert await socket.closed() == (4401, "token expired")
    late = await WsClient.connect(ws_url(server.url, "/ws/agent"), origin=None)
    await late.send({"type": "hello", "token": short["token"]})
    assert await late.closed() == (4401, "sign in first")
