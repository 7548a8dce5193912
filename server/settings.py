"""Configuration: one frozen `Settings`, built once from env vars and CLI flags.

Every bad value raises `SettingsError` naming the variable; the CLI turns that into one
line on stderr and exit code 2. Nothing here opens a connection.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
BROKER_SCHEMES = ("memory", "redis", "rediss")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./beckon.db"
DEFAULT_BROKER_URL = "memory://"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SECRET_FILE_NAME = "beckon.secret"
MIN_SECRET_LENGTH = 32

log = logging.getLogger("beckon.settings")


_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str = DEFAULT_BROKER_URL
    secret_key: str = field(default="", repr=False)
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    broker_prefix: str = "beckon:"
    # Webhook targets and similar outbound addresses may point at private ranges only
    # when this is set (tests, intranets).
    allow_private_targets: bool = False
    max_body_bytes: int = 1024 * 1024
    login_max_failures: int = 10
    login_window_s: int = 600
    session_ttl_s: int = 14 * 24 * 3600
    # How long an agent stays present after its node stops refreshing (node death).
    presence_ttl_s: int = 45
    # How long a routed offer waits for the agent before moving on.
    offer_timeout_s: int = 20
    # Recorded visit events (backtest input) older than this are pruned.
    visit_retention_days: int = 30
    # A request header carrying the visitor's country code, set by an edge in front of
    # every node (Cloudflare's CF-IPCountry, CloudFront-Viewer-Country, …). Off by
    # default: without such an edge, browsers could send it themselves.
    geo_country_header: str = ""

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


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    scheme = urlsplit(value).scheme if "://" in value else ""
    if scheme not in schemes:
        raise SettingsError(
            f"{name}: unknown URL scheme {scheme or value!r}; expected one of "
            + ", ".join(f"{s}://" for s in schemes)
        )
    return value


def _int(name: str, value: str, lo: int, hi: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name}: expected an integer, got {value!r}") from None
    if not lo <= number <= hi:
        raise SettingsError(f"{name}: {number} is outside {lo}..{hi}")
    return number


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}: expected true or false, got {value!r}")


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
    if "BECKON_DATABASE_URL" in env:
        values["database_url"] = env["BECKON_DATABASE_URL"]
    if "BECKON_BROKER_URL" in env:
        values["broker_url"] = env["BECKON_BROKER_URL"]
    if "BECKON_PUBLIC_URL" in env:
        values["public_url"] = env["BECKON_PUBLIC_URL"]
    if "BECKON_HOST" in env:
        values["host"] = env["BECKON_HOST"]
    if "BECKON_PORT" in env:
        values["port"] = _int("BECKON_PORT", env["BECKON_PORT"], 0, 65535)
    if "PORT" in env and "port" not in values:
        values["port"] = _int("PORT", env["PORT"], 0, 65535)
    if "BECKON_LOG_LEVEL" in env:
        values["log_level"] = env["BECKON_LOG_LEVEL"].upper()
    if "BECKON_BROKER_PREFIX" in env:
        values["broker_prefix"] = env["BECKON_BROKER_PREFIX"]
    if "BECKON_ALLOW_PRIVATE_TARGETS" in env:
        values["allow_private_targets"] = _bool(
            "BECKON_ALLOW_PRIVATE_TARGETS", env["BECKON_ALLOW_PRIVATE_TARGETS"]
        )
    if "BECKON_MAX_BODY_BYTES" in env:
        values["max_body_bytes"] = _int(
            "BECKON_MAX_BODY_BYTES", env["BECKON_MAX_BODY_BYTES"], 1024, 64 * 1024 * 1024
        )
    if "BECKON_PRESENCE_TTL_S" in env:
        values["presence_ttl_s"] = _int(
            "BECKON_PRESENCE_TTL_S", env["BECKON_PRESENCE_TTL_S"], 2, 3600
        )
    if "BECKON_OFFER_TIMEOUT_S" in env:
        values["offer_timeout_s"] = _int(
            "BECKON_OFFER_TIMEOUT_S", env["BECKON_OFFER_TIMEOUT_S"], 1, 3600
        )
    if "BECKON_VISIT_RETENTION_DAYS" in env:
        values["visit_retention_days"] = _int(
            "BECKON_VISIT_RETENTION_DAYS", env["BECKON_VISIT_RETENTION_DAYS"], 1, 3650
        )
    if "BECKON_GEO_COUNTRY_HEADER" in env:
        header = env["BECKON_GEO_COUNTRY_HEADER"].strip()
        if header and not _HEADER_NAME.fullmatch(header):
            raise SettingsError(
                f"BECKON_GEO_COUNTRY_HEADER: expected a header name like CF-IPCountry, "
                f"got {header!r}"
            )
        values["geo_country_header"] = header.lower()
    for key, value in flags.items():
        if value is not None:
            values[key] = value

    database_url = str(values.get("database_url", DEFAULT_DATABASE_URL))
    _check_url("BECKON_DATABASE_URL", database_url, DATABASE_SCHEMES)
    _check_url(
        "BECKON_BROKER_URL", str(values.get("broker_url", DEFAULT_BROKER_URL)), BROKER_SCHEMES
    )
    public_url = str(values.get("public_url", ""))
    if public_url and urlsplit(public_url).scheme not in ("http", "https"):
        raise SettingsError(f"BECKON_PUBLIC_URL: expected an http(s) URL, got {public_url!r}")
    level = str(values.get("log_level", "INFO"))
    if level not in LOG_LEVELS:
        raise SettingsError(f"BECKON_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}")

    secret = env.get("BECKON_SECRET_KEY", "")
    if secret and len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(f"BECKON_SECRET_KEY: must be at least {MIN_SECRET_LENGTH} characters")
    if not secret:
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
