"""Configuration: one frozen `Settings`, built once from env vars and CLI flags.

Each field declares its environment variable, parser and one-line meaning
(`setting(...)`); `load_settings` reads them all the same way, and the configuration
reference in `docs/configuration.md` is generated from the same declarations. Every bad
value raises `SettingsError` naming the variable; the CLI turns that into one line on
stderr and exit code 2. Nothing here opens a connection.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from server.logs import LOG_FORMATS
from server.media.kinds import DEFAULT_MEDIA_TYPES
from server.settings_parse import (
    IPNetwork,
    Parser,
    SettingsError,
    as_bool,
    as_choice,
    as_cidrs,
    as_header_name,
    as_int,
    as_media_types,
    as_str,
    as_token,
    as_url,
)

DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
BROKER_SCHEMES = ("memory", "redis", "rediss", "redis+sentinel", "redis+cluster")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./beckon.db"
DEFAULT_BROKER_URL = "memory://"
MEDIA_SCHEMES = ("file", "s3")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SECRET_FILE_NAME = "beckon.secret"
MIN_SECRET_LENGTH = 32
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

__all__ = ["Settings", "SettingsError", "load_settings", "redact_url", "setting_specs"]

log = logging.getLogger("beckon.settings")


def setting(default: object, env: str, doc: str, parse: Parser | None = None) -> Any:
    """A `Settings` field read from `env` with `parse`; `doc` is its reference line."""
    return field(default=default, metadata={"env": env, "doc": doc, "parse": parse})


def _smtp_url(name: str, value: str) -> str:
    """An SMTP URL that parses (no connection made); empty turns email off."""
    from server.mail.smtp_url import parse_smtp_url

    if value:
        try:
            parse_smtp_url(value)
        except ValueError as exc:
            raise SettingsError(f"{name}: {exc}") from None
    return value


def _mail_from(name: str, value: str) -> str:
    from server.mail.addresses import BadAddress, recipient

    if value:
        try:
            recipient(value)
        except BadAddress:
            raise SettingsError(
                f"{name}: must be one plain address such as help@example.com"
            ) from None
    return value


def _broker_url(name: str, value: str) -> str:
    """A broker URL with a known scheme that the broker can parse (no connection made)."""
    from server.broker import open_broker  # the broker package imports no backend eagerly

    as_url(BROKER_SCHEMES)(name, value)
    try:
        open_broker(value)  # construction only parses the URL
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None
    return value


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
        "the Broker; `redis://host:6379/0` (or `rediss://`) for several nodes; "
        "`redis+sentinel://host:26379,host2:26379/service` follows Sentinel failovers; "
        "`redis+cluster://host:6379,host2:6379` shards over a Redis Cluster",
        _broker_url,
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
    # A rolling restart's bound: half for the sockets to finish the frame in hand and
    # close with 1012, half for event listeners, webhook deliveries and batched writes;
    # what is left then is cut (server/graceful.py).
    shutdown_timeout_s: int = setting(
        10,
        "BECKON_SHUTDOWN_TIMEOUT_S",
        "after SIGTERM the node exits within this many seconds, whatever is left",
        as_int(1, 3600),
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
    # Webhook isolation (server/webhook_worker.py): one slow or dead receiver never
    # delays another endpoint's deliveries.
    webhook_deadline_s: int = setting(
        10,
        "BECKON_WEBHOOK_DEADLINE_S",
        "one overall deadline per webhook attempt (DNS, connect, send, answer), seconds",
        as_int(1, 300),
    )
    webhook_max_in_flight: int = setting(
        4,
        "BECKON_WEBHOOK_MAX_IN_FLIGHT",
        "webhook attempts under way at once to one endpoint, per node",
        as_int(1, 64),
    )
    webhook_pause_after: int = setting(
        20,
        "BECKON_WEBHOOK_PAUSE_AFTER",
        "failed attempts in a row after which a webhook endpoint is paused until resumed",
        as_int(1, 100_000),
    )
    # Mail (docs/mail.md): empty BECKON_SMTP_URL sends nothing; every email waits in
    # the mail outbox until an SMTP server accepts it.
    smtp_url: str = setting(
        "",
        "BECKON_SMTP_URL",
        "where email goes: smtp://user:pw@host:587?starttls=1 or smtps://…; empty: no email",
        _smtp_url,
    )
    mail_from: str = setting(
        "",
        "BECKON_MAIL_FROM",
        "from-address of every email; its domain names Message-IDs and reply addresses",
        _mail_from,
    )
    mail_dkim_key_file: str = setting(
        "",
        "BECKON_MAIL_DKIM_KEY_FILE",
        "PEM private key to DKIM-sign email with (d= the from-domain); empty: unsigned",
        as_str,
    )
    mail_dkim_selector: str = setting(
        "beckon", "BECKON_MAIL_DKIM_SELECTOR", "DKIM selector (s=) of that key", as_str
    )
    mail_grace_s: int = setting(
        60,
        "BECKON_MAIL_GRACE_S",
        "an agent's message is emailed only if the visitor is still away this many seconds later",
        as_int(0, 86_400),
    )
    mail_visitor_per_hour: int = setting(
        10,
        "BECKON_MAIL_VISITOR_PER_HOUR",
        "emails to one visitor per hour; past it an email is not written (logged)",
        as_int(1, 10_000),
    )
    mail_site_per_hour: int = setting(
        500,
        "BECKON_MAIL_SITE_PER_HOUR",
        "emails of one site per hour; past it an email is not written (logged)",
        as_int(1, 1_000_000),
    )
    mail_inbox_alert_s: int = setting(
        600,
        "BECKON_MAIL_INBOX_ALERT_S",
        "an agent who opted in gets at most one email about new inbox items per this many seconds",
        as_int(1, 86_400),
    )
    mail_inbound_secret: str = setting(
        "",
        "BECKON_MAIL_INBOUND_SECRET",
        "key that signs posts to /api/v1/mail/inbound; empty: derived from BECKON_SECRET_KEY",
        as_str,
    )
    mail_max_bytes: int = setting(
        10 * 1024 * 1024,
        "BECKON_MAIL_MAX_BYTES",
        "largest inbound email accepted by `beckon mail-in` and the inbound endpoint",
        as_int(1024, 50 * 1024 * 1024),
    )
    max_body_bytes: int = setting(
        1024 * 1024,
        "BECKON_MAX_BODY_BYTES",
        "largest accepted REST body in bytes (larger: 413)",
        as_int(1024, 64 * 1024 * 1024),
    )
    # Attachments (server/media/): where they live and what may be kept.
    media_url: str = setting(
        "",
        "BECKON_MEDIA_URL",
        "where attachments are stored: `s3://bucket/prefix` (S3-compatible) or "
        "`file:///dir`; default the local directory BECKON_MEDIA_DIR",
        as_url(MEDIA_SCHEMES),
    )
    media_dir: str = setting(
        "",
        "BECKON_MEDIA_DIR",
        "the local attachment directory when BECKON_MEDIA_URL is unset; default `media` "
        "beside the SQLite file (`./media` with PostgreSQL)",
        as_str,
    )
    media_s3_endpoint: str = setting(
        "",
        "BECKON_MEDIA_S3_ENDPOINT",
        "the S3 API endpoint for a non-AWS service (MinIO, Ceph, R2), e.g. "
        "`http://minio:9000`; credentials are the standard `AWS_*` variables",
        as_str,
    )
    media_s3_region: str = setting(
        "us-east-1", "BECKON_MEDIA_S3_REGION", "the S3 region to sign requests for", as_str
    )
    media_max_bytes: int = setting(
        10 * 1024 * 1024,
        "BECKON_MEDIA_MAX_BYTES",
        "largest accepted attachment in bytes (larger: 413 before the body is read)",
        as_int(1024, 1024 * 1024 * 1024),
    )
    media_site_quota_bytes: int = setting(
        1024 * 1024 * 1024,
        "BECKON_MEDIA_SITE_QUOTA_BYTES",
        "attachment bytes one site may keep in all (past it: 413 `quota_exceeded`)",
        as_int(1024, 2**50),
    )
    media_types: tuple[str, ...] = setting(
        DEFAULT_MEDIA_TYPES,
        "BECKON_MEDIA_TYPES",
        "comma-separated attachment types accepted (decided from the content, not the "
        "name); a subset of the default list",
        as_media_types,
    )
    # Pillow refuses images above this many pixels before decoding them (zip bombs).
    media_max_pixels: int = setting(
        40_000_000,
        "BECKON_MEDIA_MAX_PIXELS",
        "an image with more pixels than this is refused unread (decompression bombs)",
        as_int(10_000, 500_000_000),
    )
    media_max_dimension: int = setting(
        4096,
        "BECKON_MEDIA_MAX_DIMENSION",
        "images are scaled down to at most this many pixels wide and high when stored",
        as_int(64, 16_384),
    )
    avatar_max_bytes: int = setting(
        2 * 1024 * 1024,
        "BECKON_AVATAR_MAX_BYTES",
        "largest avatar image an agent may upload, in bytes (larger: 413 before it is read)",
        as_int(1024, 50 * 1024 * 1024),
    )
    media_url_ttl_s: int = setting(
        3600,
        "BECKON_MEDIA_URL_TTL_S",
        "how long a signed attachment URL stays valid, seconds",
        as_int(10, 7 * 86_400),
    )
    media_orphan_s: int = setting(
        24 * 3600,
        "BECKON_MEDIA_ORPHAN_S",
        "an upload no message references is deleted after this many seconds",
        as_int(60, 30 * 86_400),
    )
    # A WebSocket peer that does not read (server/ws_protocol.py): past the high-water
    # mark its reads pause and pongs coalesce; stuck there this long, it is aborted.
    ws_send_buffer_bytes: int = setting(
        64 * 1024,
        "BECKON_WS_SEND_BUFFER_BYTES",
        "a socket's write-buffer high-water mark in bytes: above it the server stops "
        "reading that peer and keeps one pending pong",
        as_int(4096, 16 * 1024 * 1024),
    )
    ws_send_stall_s: int = setting(
        20,
        "BECKON_WS_SEND_STALL_S",
        "a socket whose write buffer stays above its high-water mark this long is closed "
        "(1008, peer not reading), seconds; 0 never",
        as_int(0, 3600),
    )
    login_max_failures: int = setting(
        10,
        "BECKON_LOGIN_MAX_FAILURES",
        "failed (or in-flight) sign-ins per account within the window before 429",
        as_int(1, 10_000),
    )
    # Higher than per account: one office behind one address shares it.
    login_max_failures_per_address: int = setting(
        30,
        "BECKON_LOGIN_MAX_FAILURES_PER_ADDRESS",
        "failed (or in-flight) sign-ins per client address within the window before 429",
        as_int(1, 100_000),
    )
    login_window_s: int = setting(
        600, "BECKON_LOGIN_WINDOW_S", "the sign-in failure window, seconds", as_int(1, 86_400)
    )
    password_hash_threads: int = setting(
        2,
        "BECKON_PASSWORD_HASH_THREADS",
        "threads that run argon2 (each hash holds 64 MiB while it runs); sign-ins beyond "
        "them wait in line, never on the event loop",
        as_int(1, 64),
    )
    session_ttl_s: int = setting(
        14 * 24 * 3600,
        "BECKON_SESSION_TTL_S",
        "how long a console or admin session lasts, seconds",
        as_int(60, 366 * 86_400),
    )
    # Role and membership changes reach open agent sockets through the broker at once;
    # this re-check is the backstop for an event lost while the broker was down.
    agent_access_recheck_s: int = setting(
        30,
        "BECKON_AGENT_ACCESS_RECHECK_S",
        "how often an open agent socket re-reads its session, role and sites, seconds",
        as_int(1, 3600),
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
    # Retention per site (docs/privacy.md): these are the defaults of a site that sets
    # none; 0 keeps forever. Enforced by the janitor in bounded batches.
    transcript_retention_days: int = setting(
        0,
        "BECKON_TRANSCRIPT_RETENTION_DAYS",
        "messages of chats closed longer ago than this are deleted, days (0: kept forever)",
        as_int(0, 36500),
    )
    # Decisions over time (docs/rules.md): every visitor's changes are recorded up to
    # this many visitors a minute per site and node; past it, a stable sample.
    decision_log_full_per_min: int = setting(
        600,
        "BECKON_DECISION_LOG_FULL_PER_MIN",
        "visitors a minute per site (on each node) whose decisions over time are all "
        "recorded; past it only BECKON_DECISION_LOG_SAMPLE_PCT percent of the further ones",
        as_int(0, 1_000_000),
    )
    decision_log_sample_pct: int = setting(
        10,
        "BECKON_DECISION_LOG_SAMPLE_PCT",
        "percent of visitors (by a hash of their id) whose decisions over time are "
        "recorded once a site is past BECKON_DECISION_LOG_FULL_PER_MIN",
        as_int(0, 100),
    )
    decision_retention_days: int = setting(
        0,
        "BECKON_DECISION_RETENTION_DAYS",
        "invitations (rule stats' input) older than this are deleted, days (0: kept forever)",
        as_int(0, 36500),
    )
    offline_message_retention_days: int = setting(
        0,
        "BECKON_OFFLINE_MESSAGE_RETENTION_DAYS",
        "offline messages older than this are deleted, days (0: kept forever)",
        as_int(0, 36500),
    )
    attachment_retention_days: int = setting(
        0,
        "BECKON_ATTACHMENT_RETENTION_DAYS",
        "attachments (rows and stored files) uploaded longer ago than this are deleted, "
        "days (0: kept forever)",
        as_int(0, 36500),
    )
    retention_sweep_s: int = setting(
        3600,
        "BECKON_RETENTION_SWEEP_S",
        "how often the janitor deletes records past their retention, seconds",
        as_int(1, 86400),
    )
    retention_batch: int = setting(
        1000,
        "BECKON_RETENTION_BATCH",
        "rows one retention delete removes at most (one short transaction each)",
        as_int(1, 100_000),
    )
    audit_retention_days: int = setting(
        365,
        "BECKON_AUDIT_RETENTION_DAYS",
        "audit log entries (who changed what) older than this are pruned, days",
        as_int(1, 36500),
    )
    # What one anonymous visitor may make the node keep (docs/security.md, "Visitor-
    # controlled state"): past a bound its frame gets an error and nothing is stored.
    visitor_max_attributes: int = setting(
        50,
        "BECKON_VISITOR_MAX_ATTRIBUTES",
        "custom attributes one visitor may hold, across frames and sockets (more: `limit_reached`)",
        as_int(1, 1000),
    )
    visitor_max_attribute_bytes: int = setting(
        8192,
        "BECKON_VISITOR_MAX_ATTRIBUTE_BYTES",
        "size of one visitor's attributes as JSON, bytes (more: `limit_reached`)",
        as_int(256, 1024 * 1024),
    )
    visitor_max_event_names: int = setting(
        50,
        "BECKON_VISITOR_MAX_EVENT_NAMES",
        "distinct custom `track` event names one visitor may use per visit (more: `limit_reached`)",
        as_int(1, 1000),
    )
    visitor_max_cart_items: int = setting(
        10_000,
        "BECKON_VISITOR_MAX_CART_ITEMS",
        "the largest `cart.items` a visitor may report (more: `limit_reached`)",
        as_int(1, 10**9),
    )
    visitor_events_per_hour: int = setting(
        1000,
        "BECKON_VISITOR_EVENTS_PER_HOUR",
        "behaviour frames (`page_view`, `track`, `cart`, `attributes`) one visitor socket "
        "may send per hour, each recorded for backtests (more: `rate_limited`)",
        as_int(1, 1_000_000),
    )
    visitor_chat_starts_per_hour: int = setting(
        10,
        "BECKON_VISITOR_CHAT_STARTS_PER_HOUR",
        "conversations one visitor may open per hour (more: `rate_limited`)",
        as_int(1, 100_000),
    )
    visitor_offline_messages_per_hour: int = setting(
        3,
        "BECKON_VISITOR_OFFLINE_MESSAGES_PER_HOUR",
        "offline messages one visitor may leave per hour (more: `rate_limited`)",
        as_int(1, 100_000),
    )
    visitor_conversions_per_hour: int = setting(
        20,
        "BECKON_VISITOR_CONVERSIONS_PER_HOUR",
        "conversions (`track` `conversion`) one visitor may report per hour (more: `rate_limited`)",
        as_int(1, 100_000),
    )
    # Per client address (`server/client_address.py`: the peer, or what a trusted proxy
    # says), counted in the Broker so every node sharing it shares the budget.
    ip_max_visitor_sockets: int = setting(
        100,
        "BECKON_IP_MAX_VISITOR_SOCKETS",
        "visitor sockets one client address may hold open, across nodes (more: close 4429)",
        as_int(1, 1_000_000),
    )
    ip_visitor_connects_per_s: int = setting(
        20,
        "BECKON_IP_VISITOR_CONNECTS_PER_S",
        "visitor sockets one client address may open per second, across nodes (more: close 4429)",
        as_int(1, 1_000_000),
    )
    ip_chat_starts_per_hour: int = setting(
        30,
        "BECKON_IP_CHAT_STARTS_PER_HOUR",
        "conversations visitors from one client address may open per hour (more: `rate_limited`)",
        as_int(1, 1_000_000),
    )
    ip_offline_messages_per_hour: int = setting(
        10,
        "BECKON_IP_OFFLINE_MESSAGES_PER_HOUR",
        "offline messages visitors from one client address may leave per hour (more: "
        "`rate_limited`)",
        as_int(1, 1_000_000),
    )
    ip_conversions_per_hour: int = setting(
        100,
        "BECKON_IP_CONVERSIONS_PER_HOUR",
        "conversions visitors from one client address may report per hour (more: `rate_limited`)",
        as_int(1, 1_000_000),
    )
    wait_window_s: int = setting(
        900,
        "BECKON_WAIT_WINDOW_S",
        "the recent past whose new chats give the arrival rate of the predicted wait "
        "(rules with max_predicted_wait_s), seconds",
        as_int(60, 86400),
    )
    default_handle_time_s: int = setting(
        300,
        "BECKON_DEFAULT_HANDLE_TIME_S",
        "mean chat duration the predicted wait assumes until chats closed in the last "
        "hour give one, seconds",
        as_int(1, 86400),
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

    # /metrics names sites' traffic and timings: readable from these addresses (the
    # client address as BECKON_TRUSTED_PROXIES resolves it), or anywhere with the token.
    metrics_allow: tuple[IPNetwork, ...] = setting(
        LOOPBACK,
        "BECKON_METRICS_ALLOW",
        "comma-separated CIDRs that may read `/metrics` without a token (default loopback "
        "only; empty: none); a request relayed by an untrusted proxy never qualifies",
        as_cidrs,
    )
    metrics_token: str = setting(
        "",
        "BECKON_METRICS_TOKEN",
        "a bearer token (at least 24 characters) that reads `/metrics` from any address",
        as_token(24),
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def media_storage_url(self) -> str:
        """BECKON_MEDIA_URL, else the local directory (beside the SQLite file by default)."""
        if self.media_url:
            return self.media_url
        if self.media_dir:
            return f"file://{Path(self.media_dir).resolve()}"
        db_path = sqlite_path(self.database_url)
        directory = db_path.parent if db_path else Path(".")
        return f"file://{(directory / 'media').resolve()}"

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
    if values.get("smtp_url") and not values.get("mail_from"):
        raise SettingsError("BECKON_MAIL_FROM: required when BECKON_SMTP_URL is set")
    return Settings(**values)  # type: ignore[arg-type]


def redact_url(url: str) -> str:
    """The URL without its password (nor a Sentinel's), for messages and logs."""
    url = re.sub(r"([?&]sentinel_password=)[^&#]*", r"\1***", url)
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
