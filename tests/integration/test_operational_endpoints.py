"""The low ones, against a real `beckon serve`: `Cache-Control: no-store` on every API
answer, `/metrics` behind an address allow-list or a token, `/readyz` naming the failed
part without the driver's error text, wildcard origins that keep a registrable domain."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.beckon_process import run_cli, running_node
from tests.conftest import REDIS_URL, subprocess_env
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.asyncio
API = "/api/v1"
METRICS_TOKEN = "metrics-token-0123456789abcdef"
FORBIDDEN = {
    "error": {
        "code": "forbidden",
        "message": "metrics are readable from BECKON_METRICS_ALLOW addresses or with the "
        "BECKON_METRICS_TOKEN bearer token",
    }
}


async def test_api_answers_are_never_stored_by_caches(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        client, csrf = await node.login()
        async with client:
            answers = [
                await client.get(f"{API}/me"),
                await client.get(f"{API}/sites"),
                await client.get(f"{API}/sites/st_nope"),  # 404
                await client.get(f"{API}/sites", params={"limit": "²"}),  # 422
                await client.post(f"{API}/sites", json={}, headers={"X-CSRF-Token": csrf}),
                await client.get(f"{API}/openapi.json"),
                await client.get(f"{API}/no-such-route"),
            ]
            for response in answers:
                assert response.headers["cache-control"] == "no-store", response.url
            # Static assets keep their own caching.
            widget = await client.get("/widget.js")
            assert widget.headers.get("cache-control") != "no-store"


async def test_metrics_default_is_loopback_only_and_never_through_a_stranger(
    tmp_path: Path,
) -> None:
    async with running_node(tmp_path) as node, node.client() as client:
        assert (await client.get("/metrics")).status_code == 200  # loopback: allowed
        # Relayed by a proxy that BECKON_TRUSTED_PROXIES does not name: refused, or a
        # reverse proxy on the same machine would open metrics to the internet.
        relayed = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert relayed.status_code == 403 and relayed.json() == FORBIDDEN
        assert relayed.headers["content-type"] == "application/json"


async def test_metrics_with_a_token_and_an_allow_list(tmp_path: Path) -> None:
    env = {
        "BECKON_METRICS_ALLOW": "10.0.0.0/8",  # not loopback: the test client is refused
        "BECKON_METRICS_TOKEN": METRICS_TOKEN,
        "BECKON_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    async with running_node(tmp_path, env=env) as node, node.client() as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 403 and refused.json() == FORBIDDEN
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        ok = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert ok.status_code == 200 and "beckon_store_latency_seconds" in ok.text
        # Through the trusted proxy (loopback), the client's own address decides.
        inside = await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
        assert inside.status_code == 200
        outside = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert outside.status_code == 403


async def test_a_short_metrics_token_stops_the_server(tmp_path: Path) -> None:
    env = {**subprocess_env(tmp_path), "BECKON_METRICS_TOKEN": "short"}
    code, _out, err = await run_cli(["serve"], env, tmp_path, timeout=60)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "beckon: BECKON_METRICS_TOKEN: expected at least 24 printable characters without spaces"
    )


@pytest.mark.redis
async def test_readyz_names_the_failed_part_without_error_text(
    tmp_path: Path, redis_prefix: str
) -> None:
    redis = TcpProxy(urlsplit(REDIS_URL).port or 6379)
    await redis.start()
    env = {
        "BECKON_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0",
        "BECKON_BROKER_PREFIX": redis_prefix,
    }
    try:
        async with running_node(tmp_path, env=env) as node, node.client() as client:
            assert (await client.get("/readyz")).json() == {"status": "ready"}
            await redis.cut()
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            body = ready.json()
            assert body["status"] == "unavailable" and body["failed"] == ["broker"]
            assert body["reasons"] in ({"broker": "error"}, {"broker": "timeout"})
            assert "127.0.0.1" not in ready.text and str(redis.port) not in ready.text
    finally:
        await redis.cut()


WILDCARD_REFUSED = [
    ("https://*.com", "com"),
    ("https://*.co.uk", "co.uk"),
    ("https://*.github.io", "github.io"),
]


async def test_wildcard_origins_must_keep_a_registrable_domain(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        client, csrf = await node.login()
        async with client:
            headers = {"X-CSRF-Token": csrf}
            for origin, suffix in WILDCARD_REFUSED:
                response = await client.post(
                    f"{API}/sites", json={"name": "x", "allowed_origins": [origin]}, headers=headers
                )
                assert response.status_code == 422, origin
                assert response.json()["error"]["details"] == [
                    {
                        "path": "allowed_origins.0",
                        "message": f"{suffix!r} is a public suffix: a wildcard "
                        "must keep a registrable domain, e.g. https://*.example.com",
                    }
                ]
            allowed = [
                "https://*.example.co.uk",
                "https://*.shop.github.io",
                "http://localhost:8000",
            ]
            created = await client.post(
                f"{API}/sites", json={"name": "ok", "allowed_origins": allowed}, headers=headers
            )
            assert created.status_code == 201, created.text
            assert created.json()["allowed_origins"] == allowed
            patched = await client.patch(
                f"{API}/sites/{created.json()['id']}",
                json={"allowed_origins": ["https://*.co.uk"]},
                headers=headers,
            )
            assert patched.status_code == 422
