"""Log lines: human-readable text, or one JSON object a line (`BECKON_LOG_FORMAT=json`).

Every line logged while serving an HTTP request carries its `request_id`, and every line
logged by a socket's task (and the tasks it starts) its `connection_id`: both live in
context variables, set by server/request_ids.py (HTTP, and sockets under any ASGI server)
and server/ws_protocol.py (sockets under `beckon serve`), so no logging call passes them.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

request_id: ContextVar[str | None] = ContextVar("beckon_request_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("beckon_connection_id", default=None)

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(ids)s"


class ContextIds(logging.Filter):
    """Copies the current request and connection ids onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.connection_id = connection_id.get()
        ids = [
            f"{name}={value}"
            for name, value in (
                ("request_id", record.request_id),
                ("connection_id", record.connection_id),
            )
            if value
        ]
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return True


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "request_id"?, "connection_id"?, "exc"?}`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "connection_id"):
            value = getattr(record, key, None)
            if value:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def configure_logging(level: str, log_format: str) -> None:
    """One handler on the root logger, to stderr, for Beckon's lines and uvicorn's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextIds())
    json_lines = log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
