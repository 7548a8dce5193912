"""Set up a site with an agent (API token) on a running server, as an admin would."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from tests.beckon_process import BeckonProcess
from tests.ws_client import ORIGIN, WsClient, ws_url


@dataclass
class ChatSite:
    server_url: str
    site: dict
    agent: dict
    agent_token: str
    admin_token: str

    async def visitor(
        self, node_url: str | None = None, sock: socket.socket | None = None, **hello: object
    ) -> tuple[WsClient, dict]:
        """A connected visitor that said hello; returns (client, welcome)."""
        url = ws_url(node_url or self.server_url, f"/ws/visitor?site={self.site['key']}")
        client = await WsClient.connect(url, sock=sock)
        frame = {"type": "hello", "page": {"url": "https://shop.example.com/checkout"}, **hello}
        await client.send({**frame, "ref": "hello"})
        welcome = await client.expect("welcome")
        return client, welcome

    async def agent_socket(
        self, node_url: str | None = None, token: str | None = None
    ) -> tuple[WsClient, dict]:
        client = await WsClient.connect(
            ws_url(node_url or self.server_url, "/ws/agent"), origin=None
        )
        await client.send({"type": "hello", "token": token or self.agent_token})
        welcome = await client.expect("welcome")
        return client, welcome


async def make_chat_site(
    server: BeckonProcess, agent_email: str = "agent@example.com", capacity: int = 3
) -> ChatSite:
    admin, csrf = await server.login()
    headers = {"X-CSRF-Token": csrf}
    async with admin:
        site = (
            await admin.post(
                "/api/v1/sites",
                headers=headers,
                json={
                    "name": "Shop",
                    "allowed_origins": [ORIGIN],
                    "departments": ["sales"],
                    "widget": {"survey": ["csat", "nps"]},
                },
            )
        ).json()
        agent = (
            await admin.post(
                "/api/v1/agents",
                headers=headers,
                json={
                    "email": agent_email,
                    "password": "agent password 1",
                    "display_name": "Ana",
                    "capacity": capacity,
                    "site_ids": [site["id"]],
                },
            )
        ).json()
        admin_token = (
            await admin.post("/api/v1/tokens", headers=headers, json={"name": "tests"})
        ).json()["token"]
    async with server.client() as client:
        login = await client.post(
            "/api/v1/auth/login", json={"email": agent_email, "password": "agent password 1"}
        )
        token = (
            await client.post(
                "/api/v1/tokens",
                json={"name": "console"},
                headers={"X-CSRF-Token": login.json()["csrf_token"]},
            )
        ).json()["token"]
    return ChatSite(server.url, site, agent, token, admin_token)
