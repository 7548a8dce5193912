"""`BECKON_LOG_FORMAT=json` on a real node: every line it writes is one JSON object, HTTP
lines carry the request id (the proxy's, echoed back), socket lines the connection id."""

from __future__ import annotations

import json

from tests.beckon_process import BeckonProcess, run_cli
from tests.chat_setup import make_chat_site


async def test_a_json_node_logs_json_lines_with_ids(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**beckon_env, "BECKON_LOG_FORMAT": "json", "BECKON_LOG_LEVEL": "DEBUG"}
    node = BeckonProcess(env, tmp_path)
    await node.create_admin()
    await node.start()
    try:
        async with node.client() as client:
            refused = await client.get("/api/v1/sites", headers={"X-Request-ID": "edge-42"})
        assert refused.status_code == 401
        assert refused.headers["x-request-id"] == "edge-42"
        chat = await make_chat_site(node)
        first, _ = await chat.visitor()
        await first.close()
        second, _ = await chat.visitor()
        await second.close()
    finally:
        await node.stop()
    text = node.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    messages = [line["message"] for line in lines]
    assert any(m.startswith("Beckon is running on http://127.0.0.1:") for m in messages)
    (http,) = [line for line in lines if line.get("request_id") == "edge-42"]
    assert (http["logger"], http["message"]) == ("beckon.http", "GET /api/v1/sites 401")
    sockets = [line for line in lines if line["message"].startswith("socket /ws/visitor")]
    by_socket: dict[str, list[str]] = {}
    for line in sockets:
        by_socket.setdefault(line["connection_id"], []).append(line["message"])
    assert (
        list(by_socket.values())
        == [["socket /ws/visitor opened", "socket /ws/visitor finished"]] * 2
    )
    assert all("request_id" not in line for line in sockets)


async def test_a_bad_log_format_is_one_line_exit_2(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = await run_cli(
        ["serve", "--port", "0"], {**beckon_env, "BECKON_LOG_FORMAT": "xml"}, tmp_path
    )
    assert (code, out, err) == (2, "", "beckon: BECKON_LOG_FORMAT: expected one of text, json\n")


async def test_a_warning_while_loading_the_settings_is_json_too(beckon_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in beckon_env.items() if k != "BECKON_SECRET_KEY"}
    code, _out, err = await run_cli(["migrate"], {**env, "BECKON_LOG_FORMAT": "json"}, tmp_path)
    assert code == 0
    (line,) = [json.loads(x) for x in err.splitlines()]
    assert (line["level"], line["logger"]) == ("WARNING", "beckon.settings")
    assert line["message"].startswith("BECKON_SECRET_KEY is not set: generated one")
