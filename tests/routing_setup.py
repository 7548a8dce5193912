"""Deployments for routing tests: one node on the embedded defaults, or two nodes on
PostgreSQL + Redis, with short presence and offer timeouts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.cluster import cluster
from tests.conftest import subprocess_env
from tests.ws_client import WsClient

FAST = {"BECKON_PRESENCE_TTL_S": "3", "BECKON_OFFER_TIMEOUT_S": "2"}


@contextlib.asynccontextmanager
async def deployment(kind: str, tmp: Path, prefix: str) -> AsyncIterator[list[BeckonProcess]]:
    if kind == "single":
        process = BeckonProcess({**subprocess_env(tmp), **FAST}, tmp)
        await process.create_admin()
        await process.start()
        try:
            yield [process]
        finally:
            await process.stop()
    else:
        async with cluster(tmp, prefix=prefix, extra_env=FAST) as nodes:
            yield nodes


async def add_agents(chat: ChatSite, count: int, capacity: int, **fields: object) -> list[dict]:
    """`count` agents on the site, each with an API token: [{id, token, ...}]."""
    made = []
    async with httpx.AsyncClient(base_url=chat.server_url, timeout=30) as admin:
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        for i in range(count):
            email = f"agent{i}-{len(chat.site['id'])}-{id(made)}@example.com"
            agent = (
                await admin.post(
                    "/api/v1/agents",
                    headers=auth,
                    json={
                        "email": email,
                        "password": "agent password 1",
                        "display_name": f"Agent {i}",
                        "capacity": capacity,
                        "site_ids": [chat.site["id"]],
                        **fields,
                    },
                )
            ).json()
            login = await admin.post(
                "/api/v1/auth/login", json={"email": email, "password": "agent password 1"}
            )
            token = (
                await admin.post(
                    "/api/v1/tokens",
                    json={"name": "t"},
                    headers={"X-CSRF-Token": login.json()["csrf_token"]},
                )
            ).json()["token"]
            admin.cookies.clear()
            made.append({**agent, "token": token})
    return made


async def online_agent(chat: ChatSite, node_url: str, token: str) -> WsClient:
    client, _ = await chat.agent_socket(node_url, token=token)
    reply = await client.request({"type": "status", "status": "online"})
    assert reply.get("type") == "status" and reply["status"] == "online", reply
    return client


async def set_site(chat: ChatSite, **patch: object) -> None:
    async with httpx.AsyncClient(base_url=chat.server_url) as admin:
        response = await admin.patch(
            f"/api/v1/sites/{chat.site['id']}",
            json=patch,
            headers={"Authorization": f"Bearer {chat.admin_token}"},
        )
        assert response.status_code == 200, response.text


__all__ = ["add_agents", "deployment", "make_chat_site", "online_agent", "set_site"]
