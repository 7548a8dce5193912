"""`beckon` as an operator meets it: first run, one-line errors, services going away."""

from __future__ import annotations

import asyncio
import re
import signal

import httpx

from tests.beckon_process import BeckonProcess, free_port, run_cli
from tests.conftest import REDIS_URL
from tests.tcp_proxy import TcpProxy
from tests.waiting import wait_until


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


async def test_first_run_is_a_complete_install(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in beckon_env.items() if k != "BECKON_SECRET_KEY"}
    process = BeckonProcess(env, tmp_path)
    await process.start()
    try:
        # The banner is printed before readiness, so it is in the log by now.
        output = process.log()
        for path in ("/agent/", "/admin/", "/demo/"):
            assert f"{process.url}{path}" in output
        match = re.search(r"first admin:\s+(\S+) / (\S+)", output)
        assert match, output
        assert "BECKON_SECRET_KEY is not set" in output
        client, _ = await process.login(match.group(1), match.group(2))
        async with client:
            sites = (await client.get("/api/v1/sites")).json()["items"]
            assert [s["name"] for s in sites] == ["Demo site"]
            demo = await client.get("/demo/")
            assert demo.status_code == 200
            assert f'data-site="{sites[0]["key"]}"' in demo.text
    finally:
        await process.stop()
    assert (tmp_path / "beckon.db").exists() and (tmp_path / "beckon.secret").exists()
    # A second start reuses everything and prints no new password.
    again = BeckonProcess(env, tmp_path)
    await again.start()
    try:
        assert again.log().count("first admin") == 0
    finally:
        await again.stop()


async def test_sigterm_exits_cleanly(server: BeckonProcess) -> None:
    # uvicorn re-raises the signal after its graceful shutdown, as a supervisor expects.
    assert await server.stop() in (0, -signal.SIGTERM)
    assert "Traceback" not in server.log()


async def test_bad_configuration_is_one_line_exit_2(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for key, value, expected in [
        ("BECKON_BROKER_URL", "kafka://x", "beckon: BECKON_BROKER_URL: unknown URL scheme 'kafka'"),
        ("BECKON_DATABASE_URL", "mysql://x", "beckon: BECKON_DATABASE_URL: unknown URL scheme"),
        ("BECKON_PORT", "http", "beckon: BECKON_PORT: expected an integer, got 'http'"),
    ]:
        code, _out, err = await run_cli(["serve"], {**beckon_env, key: value}, tmp_path)
        assert code == 2
        assert _one_line(err).startswith(expected)


async def test_unreachable_services_at_start(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dead = free_port()
    pg = {**beckon_env, "BECKON_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{dead}/x"}
    code, _out, err = await run_cli(["serve"], pg, tmp_path)
    assert code == 1
    assert _one_line(err).startswith(
        f"beckon: cannot reach the database (postgresql+asyncpg://postgres@127.0.0.1:{dead}/x)"
    )
    redis = {**beckon_env, "BECKON_BROKER_URL": f"redis://127.0.0.1:{dead}/0"}
    code, _out, err = await run_cli(["serve"], redis, tmp_path)
    assert code == 1
    assert _one_line(err).startswith(
        f"beckon: cannot reach the broker (redis://127.0.0.1:{dead}/0)"
    )


async def test_create_site_and_admin_commands(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = await run_cli(
        ["create-site", "--name", "Shop", "--origin", "https://shop.example.com"],
        beckon_env,
        tmp_path,
    )
    assert code == 0, err
    assert re.search(
        r'<script src="http://127.0.0.1:8000/widget.js" data-site="sk_\S+" async>', out
    )
    code, _out, err = await run_cli(
        ["create-site", "--name", "Shop", "--origin", "javascript:alert(1)"], beckon_env, tmp_path
    )
    assert code == 2 and _one_line(err).startswith("beckon: allowed_origins.0: Value error")
    code, _out, err = await run_cli(
        ["create-admin", "--email", "a@example.com", "--password-stdin"],
        beckon_env,
        tmp_path,
        stdin="short\n",
    )
    assert code == 2 and _one_line(err) == "beckon: the password must be at least 10 characters"
    args = ["create-admin", "--email", "a@example.com", "--password-stdin"]
    assert (await run_cli(args, beckon_env, tmp_path, stdin="long enough pw\n"))[0] == 0
    code, _out, err = await run_cli(args, beckon_env, tmp_path, stdin="long enough pw\n")
    assert code == 1 and _one_line(err) == "beckon: a user with email a@example.com exists"


async def test_postgres_and_redis_going_away_and_coming_back(
    beckon_env, tmp_path, pg_database, redis_prefix
) -> None:  # type: ignore[no-untyped-def]
    pg_proxy, redis_proxy = TcpProxy(5432), TcpProxy(6379)
    await pg_proxy.start()
    await redis_proxy.start()
    env = {
        **beckon_env,
        "BECKON_DATABASE_URL": pg_database.replace(":5432/", f":{pg_proxy.port}/"),
        "BECKON_BROKER_URL": f"redis://127.0.0.1:{redis_proxy.port}/0",
        "BECKON_BROKER_PREFIX": redis_prefix,
    }
    code, out, err = await run_cli(["migrate"], env, tmp_path)
    assert code == 0, err
    assert out.strip() == "database at revision 0016 (was empty)"
    process = BeckonProcess(env, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        client, _ = await process.login()
        async with client:
            await pg_proxy.cut()
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["failed"] == ["store"]
            response = await client.get("/api/v1/sites")
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "unavailable"
            await pg_proxy.start()
            await _wait_ready(client)
            assert (await client.get("/api/v1/sites")).status_code == 200

            await redis_proxy.cut()
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["failed"] == ["broker"]
            await redis_proxy.start()
            await _wait_ready(client)
    finally:
        await process.stop()
        await pg_proxy.cut()
        await redis_proxy.cut()


async def _wait_ready(client: httpx.AsyncClient, timeout: float = 15) -> None:
    async def status() -> int:
        return (await client.get("/readyz")).status_code

    await wait_until(status, lambda code: code == 200, timeout, "the node to recover")


async def test_two_nodes_start_together_on_an_empty_postgres(
    beckon_env, tmp_path, pg_database, redis_prefix
) -> None:  # type: ignore[no-untyped-def]
    """Both nodes migrate on start; the advisory lock makes one wait for the other."""
    env = {
        **beckon_env,
        "BECKON_DATABASE_URL": pg_database,
        "BECKON_BROKER_URL": REDIS_URL,
        "BECKON_BROKER_PREFIX": redis_prefix,
    }
    nodes = [BeckonProcess(env, tmp_path), BeckonProcess(env, tmp_path)]
    try:
        await asyncio.gather(*(node.start("--no-bootstrap") for node in nodes))
        for node in nodes:
            async with node.client() as client:
                assert (await client.get("/readyz")).status_code == 200
    finally:
        for node in nodes:
            await node.stop()


async def test_backtest_command(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = await run_cli(
        ["create-site", "--name", "Shop", "--origin", "https://shop.example.com"],
        beckon_env,
        tmp_path,
    )
    assert code == 0, err
    site_key = re.search(r"key (sk_\S+)", out).group(1)  # type: ignore[union-attr]
    rule_file = tmp_path / "rule.json"
    rule_file.write_text(
        '{"name": "r", "when": {"all": [{"fact": "page.path", "op": "glob", "value": "/*"}]},'
        ' "variants": [{"id": "a", "weight": 1, "text": {"en": "Hi"}}]}'
    )
    code, out, err = await run_cli(
        [
            "backtest",
            "--site",
            site_key,
            "--rule",
            str(rule_file),
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
            "--json",
        ],
        beckon_env,
        tmp_path,
    )
    assert code == 0, err
    assert '"visitors": 0' in out
    bad_rule = tmp_path / "bad.json"
    bad_rule.write_text('{"name": "r", "when": {"all": []}, "variants": []}')
    capacity = tmp_path / "capacity.json"
    capacity.write_text('[{"from_ts": 0, "agents_online": 1}]')
    for args, message in [
        (["--site", "sk_nope", "--rule", str(rule_file)], "beckon: --site: no site with id or key"),
        (
            ["--site", site_key, "--rule", str(tmp_path / "missing.json")],
            "beckon: --rule: cannot read",
        ),
        (["--site", site_key, "--rule", str(bad_rule)], "beckon: --rule: "),
        (["--site", site_key, "--all-rules"], "beckon: --all-rules: the site has no enabled rule"),
        (
            ["--site", site_key, "--rule", str(rule_file), "--capacity-series", str(bad_rule)],
            "beckon: --capacity-series: expected a JSON list of objects",
        ),
        (
            ["--site", site_key, "--rule", str(rule_file), "--capacity-series", str(capacity)],
            "beckon: --capacity-series: capacity[0]: KeyError: 'free_slots'",
        ),
    ]:
        code, _out, err = await run_cli(
            ["backtest", *args, "--from", "2026-01-01", "--to", "2026-01-02"], beckon_env, tmp_path
        )
        assert code == 2 and _one_line(err).startswith(message), err
    code, _out, err = await run_cli(
        [
            "backtest",
            "--site",
            site_key,
            "--rule",
            str(rule_file),
            "--from",
            "tomorrow",
            "--to",
            "2026-01-02",
        ],
        beckon_env,
        tmp_path,
    )
    assert code == 2
    assert _one_line(err) == "beckon: --from: expected milliseconds or an ISO date, got 'tomorrow'"
