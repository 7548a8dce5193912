"""server/logs.py and server/request_ids.py: JSON lines, and the request or connection id
on every line logged while serving it (its task and the tasks it starts)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from server.logs import ContextIds, JsonFormatter, connection_id, request_id
from server.request_ids import RequestIds, StarletteWithRequestIds, incoming_request_id
from server.settings import SettingsError, load_settings

log = logging.getLogger("beckon.test_logs")


Read = Callable[[], list[dict]]


@pytest.fixture
def read() -> Iterator[Read]:
    """The JSON lines logged on `beckon.test_logs` so far, as the node's handler writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextIds())
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        log.removeHandler(handler)


async def _page(_request: Request) -> PlainTextResponse:
    log.info("handling")

    async def child() -> None:
        log.warning("from a task the request started")

    await asyncio.create_task(child())
    return PlainTextResponse("ok")


async def _broken(_request: Request) -> PlainTextResponse:
    raise RuntimeError("bug")


async def _internal(_request: Request, exc: Exception) -> PlainTextResponse:
    # Like server/app.py's catch-all: Starlette runs it in its outermost middleware.
    log.error("unhandled: %s", exc)
    return PlainTextResponse("internal error", 500)


APP = StarletteWithRequestIds(
    routes=[Route("/page", _page), Route("/broken", _broken)],
    exception_handlers={Exception: _internal},
)


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://test")


async def test_every_line_of_a_request_carries_its_id(read: Read) -> None:
    async with _client() as client:
        response = await client.get("/page")
    rid = response.headers["x-request-id"]
    assert rid.startswith("rq_")
    got = read()
    assert [(x["message"], x.get("request_id")) for x in got] == [
        ("handling", rid),
        ("from a task the request started", rid),
    ]
    assert set(got[0]) == {"ts", "level", "logger", "message", "request_id"}
    assert (got[0]["level"], got[0]["logger"]) == ("INFO", "beckon.test_logs")
    # Outside the request the id is gone.
    assert request_id.get() is None


async def test_a_proxys_request_id_is_kept_and_a_bad_one_replaced(read: Read) -> None:
    async with _client() as client:
        kept = await client.get("/page", headers={"X-Request-ID": "9f86d081884c7d65"})
        bad = await client.get("/page", headers={"X-Request-ID": "two words"})
        long = await client.get("/page", headers={"X-Request-ID": "a" * 65})
    assert kept.headers["x-request-id"] == "9f86d081884c7d65"
    assert bad.headers["x-request-id"].startswith("rq_")
    assert long.headers["x-request-id"].startswith("rq_")
    assert bad.headers["x-request-id"] != long.headers["x-request-id"]
    assert read()[0]["request_id"] == "9f86d081884c7d65"


async def _never(*_args: object) -> Message:
    raise AssertionError("not called")


async def test_an_unhandled_error_is_logged_and_answered_with_the_id(read: Read) -> None:
    transport = httpx.ASGITransport(app=APP, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/broken", headers={"X-Request-ID": "edge-7"})
    assert (response.status_code, response.headers["x-request-id"]) == (500, "edge-7")
    (line,) = read()
    assert (line["message"], line["request_id"]) == ("unhandled: bug", "edge-7")


def test_incoming_request_id() -> None:
    assert incoming_request_id("abc-1.2:3_x") == "abc-1.2:3_x"
    for bad in (None, "", "a b", "a" * 65, "é", "a\nb"):
        assert incoming_request_id(bad).startswith("rq_"), bad


async def test_a_socket_gets_a_connection_id(read: Read) -> None:
    seen: list[str | None] = []

    async def endpoint(_scope: Scope, _receive: Receive, _send: Send) -> None:
        log.info("socket line")
        seen.append(connection_id.get())

    await RequestIds(endpoint)({"type": "websocket", "path": "/ws"}, _never, _never)
    (cid,) = seen
    assert cid is not None and cid.startswith("cn_")
    assert connection_id.get() is None
    (line,) = read()
    assert (line["message"], line["connection_id"]) == ("socket line", cid)
    assert "request_id" not in line


def test_an_exception_is_one_json_line(read: Read) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    (line,) = read()
    assert line["message"] == "failed"
    assert line["exc"].startswith("Traceback") and line["exc"].endswith("ValueError: boom")


def test_log_format_setting() -> None:
    assert load_settings({"BECKON_SECRET_KEY": "k" * 32}).log_format == "text"
    env = {"BECKON_SECRET_KEY": "k" * 32, "BECKON_LOG_FORMAT": "json"}
    assert load_settings(env).log_format == "json"
    with pytest.raises(SettingsError) as caught:
        load_settings({**env, "BECKON_LOG_FORMAT": "xml"})
    assert str(caught.value) == "BECKON_LOG_FORMAT: expected one of text, json"
