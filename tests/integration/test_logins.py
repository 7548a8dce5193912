"""Sign-in limits against a real `beckon serve`: atomic under concurrency, per account and
per client address, and argon2 never stalls the event loop."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx

from tests.beckon_process import ADMIN_EMAIL, ADMIN_PASSWORD, running_node

LOGIN = "/api/v1/auth/login"
# Generous: the machine is shared and slow. Before the thread pool, 60 argon2
# verifications on the loop held /healthz for seconds; what matters is that it answers.
HEALTHZ_BOUND_S = 3.0


async def _wrong_login(client: httpx.AsyncClient, email: str = ADMIN_EMAIL, **kw) -> int:
    response = await client.post(LOGIN, json={"email": email, "password": "wrong"}, **kw)
    return response.status_code


async def test_concurrent_wrong_passwords_get_429_beyond_the_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path) as node, node.client() as client:
        codes = await asyncio.gather(*(_wrong_login(client) for _ in range(60)))
        # The default limit is 10 per account: exactly 10 were checked, 50 refused
        # (before, the limit was read before any failure was written: 60 × 401).
        assert Counter(codes) == {401: 10, 429: 50}
        right = await client.post(LOGIN, json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert right.status_code == 429
        assert right.json()["error"] == {
            "code": "rate_limited",
            "message": "too many failed sign-ins; try again later",
        }
        assert 1 <= int(right.headers["retry-after"]) <= 600


async def test_a_right_password_is_not_counted_as_a_failure(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"BECKON_LOGIN_MAX_FAILURES": "3"}
    async with running_node(tmp_path, env=env) as node, node.client() as client:
        for _ in range(5):
            ok = await client.post(LOGIN, json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            assert ok.status_code == 200
            client.cookies.clear()  # sign in afresh (a live cookie would need its CSRF)
        assert [await _wrong_login(client) for _ in range(4)] == [401, 401, 401, 429]


async def test_healthz_answers_fast_during_a_burst_of_sign_ins(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A limit high enough that all 60 are verified: argon2 must run off the event loop.
    env = {"BECKON_LOGIN_MAX_FAILURES": "1000", "BECKON_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000"}
    async with (
        running_node(tmp_path, env=env) as node,
        # 60 verifications queue behind BECKON_PASSWORD_HASH_THREADS (2): seconds in all.
        httpx.AsyncClient(base_url=node.url, timeout=120) as client,
    ):
        burst = asyncio.gather(*(_wrong_login(client) for _ in range(60)))
        probes = []
        async with httpx.AsyncClient(base_url=node.url, timeout=30) as probe:
            while not burst.done():
                started = time.monotonic()
                response = await probe.get("/healthz")
                probes.append((response.status_code, time.monotonic() - started))
        codes = await burst
    assert Counter(codes) == {401: 60}  # every sign-in was answered
    assert probes, "the burst ended before /healthz was asked"
    assert all(status == 200 for status, _ in probes)
    slowest = max(elapsed for _, elapsed in probes)
    assert slowest < HEALTHZ_BOUND_S, f"/healthz took {slowest:.2f}s during the burst"


async def test_the_address_limit_is_per_client_behind_a_trusted_proxy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "BECKON_LOGIN_MAX_FAILURES_PER_ADDRESS": "3",
        "BECKON_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    one = {"X-Forwarded-For": "203.0.113.5"}
    two = {"X-Forwarded-For": "203.0.113.6"}
    async with running_node(tmp_path, env=env) as node, node.client() as client:
        # Three accounts from one client address fill the address's window...
        for index in range(3):
            assert await _wrong_login(client, f"u{index}@example.com", headers=one) == 401
        assert await _wrong_login(client, "u9@example.com", headers=one) == 429
        # ...and another client behind the same proxy is not locked out with it.
        assert await _wrong_login(client, "u9@example.com", headers=two) == 401


async def test_forwarded_for_is_ignored_without_trusted_proxies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"BECKON_LOGIN_MAX_FAILURES_PER_ADDRESS": "2"}
    async with running_node(tmp_path, env=env) as node, node.client() as client:
        codes = [
            await _wrong_login(
                client, f"u{i}@example.com", headers={"X-Forwarded-For": f"198.51.100.{i}"}
            )
            for i in range(3)
        ]
        assert codes == [401, 401, 429]  # one address (the peer), whatever the header says
