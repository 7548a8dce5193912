"""Configuration: one frozen `Settings`, built once from env vars and CLI flags.

Each field declares its environment variable, parser and one-line meaning
(`setting(...)`); `load_settings` reads them all the same way, and the configuration
reference in `docs/configuration.md` is generated from the same declarations. Every bad
value raises `SettingsError` naming the variable; the CLI turns that into one line on
stderr and exit code 2. Nothing here opens a connection.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from server.logs import LOG_FORMATS
from server.settings_parse import (
    IPNetwork,
    Parser,
    SettingsError,
    as_bool,
    as_choice,
    as_cidrs,
    as_header_name,
    as_int,
    as_str,
    as_url,
)

DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
BROKER_SCHEMES = ("memory", "redis", "rediss")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./beckon.db"
DEFAULT_BROKER_URL = "memory://"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SECRET_FILE_NAME = "beckon.secret"
MIN_SECRET_LENGTH = 32

__all__ = ["Settings", "SettingsError", "load_settings", "redact_url", "setting_specs"]

log = logging.getLogger("beckon.settings")


def setting(default: object, env: str, doc: str, parse: Parser | None = None) -> Any:
    """A `Settings` field read from `env` with `parse`; `doc` is its reference line."""
    return field(default=default, metadata={"env": env, "doc": doc, "parse": parse})


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = setting(
        DEFAULT_DATABASE_URL,
        "BECKON_DATABASE_URL",
        "the Store; `postgresql+asyncpg://user:pw@host/db` at scale",
        as_url(DATABASE_SCHEMES),
    )
    broker_url: str = setting(
        DEFAULT_BROKER_URL,
        "BECKON_BROKER_URL",
        "the Broker; `redis://host:6379/0` (or `rediss://`) for several nodes",
        as_url(BROKER_SCHEMES),
    )
    secret_key: str = field(
        default="",
        repr=False,
        metadata={
            "env": "BECKON_SECRET_KEY",
            "doc": "signs sessions and visitor tokens; at least 32 characters; generated "
            "into `beckon.secret` beside the SQLite file when unset; required with PostgreSQL",
            "parse": None,
        },
    )
    public_url: str = setting(
        "",
        "BECKON_PUBLIC_URL",
        "the URL browsers use (default `http://HOST:PORT`); `https://…` makes cookies Secure",
        as_url(("http", "https"), "BECKON_PUBLIC_URL: expected an http(s) URL"),
    )
    host: str = setting("127.0.0.1", "BECKON_HOST", "the address to listen on", as_str)
    port: int = setting(
        8000, "BECKON_PORT", "the port to listen on (`PORT` is read too)", as_int(0, 65535)
    )
    log_level: str = setting(
        "INFO", "BECKON_LOG_LEVEL", "`DEBUG` … `CRITICAL`", as_choice(LOG_LEVELS, upper=True)
    )
    log_format: str = setting(
        "text",
        "BECKON_LOG_FORMAT",
        "`text`, or `json`: one JSON object a line with `request_id` (HTTP) or "
        "`connection_id` (sockets) on every line logged while serving it",
        as_choice(LOG_FORMATS),
    )
    broker_prefix: str = setting(
        "beckon:", "BECKON_BROKER_PREFIX", "namespace of every Redis key and channel", as_str
    )
    # Webhook targets and similar outbound addresses may point at private ranges only
    # when this is set (tests, intranets).
    allow_private_targets: bool = setting(
        False,
        "BECKON_ALLOW_PRIVATE_TARGETS",
        "let webhooks target private and loopback addresses (tests, intranets)",
        as_bool,
    )
    max_body_bytes: int = setting(
        1024 * 1024,
        "BECKON_MAX_BODY_BYTES",
        "largest accepted REST body in bytes (larger: 413)",
        as_int(1024, 64 * 1024 * 1024),
    )
    login_max_failures: int = setting(
        10,
        "BECKON_LOGIN_MAX_FAILURES",
        "failed sign-ins per account and per client address within the window before 429",
        as_int(1, 10_000),
    )
    login_window_s: int = setting(
        600, "BECKON_LOGIN_WINDOW_S", "the sign-in failure window, seconds", as_int(1, 86_400)
    )
    session_ttl_s: int = setting(
        14 * 24 * 3600,
        "BECKON_SESSION_TTL_S",
        "how long a console or admin session lasts, seconds",
        as_int(60, 366 * 86_400),
    )
    # How long an agent stays present after its node stops refreshing (node death).
    presence_ttl_s: int = setting(
        45,
        "BECKON_PRESENCE_TTL_S",
        "how long an agent stays present after its node stops refreshing, seconds",
        as_int(2, 3600),
    )
    # A console that drops (network, 4408, node restart) and reconnects in time keeps its
    # chats: nothing is requeued and other agents see no churn.
    agent_reconnect_grace_s: int = setting(
        30,
        "BECKON_AGENT_RECONNECT_GRACE_S",
        "how long an agent whose console disconnected keeps their chats (offered nothing "
        "new) before they go back to the queue, seconds; 0 requeues them at once",
        as_int(0, 3600),
    )
    offer_timeout_s: int = setting(
        20,
        "BECKON_OFFER_TIMEOUT_S",
        "how long a routed chat offer waits for the agent before moving on, seconds",
        as_int(1, 3600),
    )
    visit_retention_days: int = setting(
        30,
        "BECKON_VISIT_RETENTION_DAYS",
        "recorded visit events (the backtest's input) older than this are pruned, days",
        as_int(1, 3650),
    )
    # Off by default: without an edge that sets it on every request, browsers could send
    # the header themselves.
    geo_country_header: str = setting(
        "",
        "BECKON_GEO_COUNTRY_HEADER",
        "a header your edge sets to the visitor's country (e.g. `CF-IPCountry`); leave "
        "unset unless every request passes that edge",
        as_header_name,
    )
    # Nothing is trusted by default, not even loopback: a proxy on the same machine is
    # named explicitly, or every client would share the proxy's address.
    trusted_proxies: tuple[IPNetwork, ...] = setting(
        (),
        "BECKON_TRUSTED_PROXIES",
        "comma-separated CIDRs of proxies whose `X-Forwarded-For` and "
        "`X-Forwarded-Proto` are believed (e.g. `127.0.0.1/32,10.0.0.0/8`); none by default",
        as_cidrs,
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def base_url(self) -> str:
        """The URL users reach this node on, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


def setting_specs() -> list[tuple[str, str, object, str]]:
    """(field, env var, default, meaning) of every setting, in declaration order."""
    return [
        (f.name, f.metadata["env"], f.default, f.metadata["doc"])
        for f in fields(Settings)
        if "env" in f.metadata
    ]


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a SQLite URL, or None for PostgreSQL / in-memory SQLite."""
    if not database_url.startswith("sqlite"):
        return None
    path = database_url.split("///", 1)[1] if "///" in database_url else ""
    if not path or path == ":memory:":
        return None
    return Path(path)


def _secret_beside_db(database_url: str) -> str:
    """Read or create the generated secret stored next to the SQLite database."""
    db_path = sqlite_path(database_url)
    directory = db_path.parent if db_path else Path(".")
    secret_file = directory / SECRET_FILE_NAME
    if secret_file.exists():
        return secret_file.read_text().strip()
    directory.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # Created owner-only: the key signs sessions and visitor tokens.
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    log.warning(
        "BECKON_SECRET_KEY is not set: generated one and stored it in %s; "
        "set BECKON_SECRET_KEY explicitly in production",
        secret_file,
    )
    return secret


def load_settings(env: Mapping[str, str] | None = None, **flags: object) -> Settings:
    """Build `Settings` from `env` (default: os.environ), then CLI `flags` on top.

    Flags that are None are ignored. Raises `SettingsError` for the first bad value.
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for spec in fields(Settings):
        parse = spec.metadata.get("parse")
        name = spec.metadata.get("env")
        if parse is not None and name in env:
            values[spec.name] = parse(name, env[name])
    if "PORT" in env and "port" not in values:
        values["port"] = as_int(0, 65535)("PORT", env["PORT"])
    for key, value in flags.items():
        if value is not None:
            values[key] = value

    secret = env.get("BECKON_SECRET_KEY", "")
    if secret and len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(f"BECKON_SECRET_KEY: must be at least {MIN_SECRET_LENGTH} characters")
    if not secret:
        database_url = str(values.get("database_url", DEFAULT_DATABASE_URL))
        if not database_url.startswith("sqlite"):
            raise SettingsError(
                "BECKON_SECRET_KEY: required when the database is PostgreSQL "
                "(every node must share it)"
            )
        secret = _secret_beside_db(database_url)
    values["secret_key"] = secret
    return Settings(**values)  # type: ignore[arg-type]


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
