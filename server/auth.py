"""Who is calling: cookie sessions with CSRF, bearer API tokens, roles.

Secrets are stored only as hashes: argon2 for passwords (server/passwords.py), sha256
for session and API tokens (they are random 256-bit values, so a fast hash is enough
and lookups stay O(1)).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from server.errors import ApiError
from server.ids import new_id, now_ms
from server.store import sessions as session_queries
from server.store import users as user_queries
from server.store.database import Database

SESSION_COOKIE = "beckon_session"
CSRF_HEADER = "x-csrf-token"
ROLES = ("admin", "marketer", "agent")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_PREFIX = "bk_"
# `last_used_ts` is written at most once a minute per session or token: a write per
# request would cost more than the answer it records.
TOUCH_EVERY_MS = 60_000
USER_AGENT_CHARS = 300


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user and how they proved it."""

    user: dict[str, Any]
    via: str  # "session" or "token"
    session_hash: str | None = None
    csrf_token: str | None = None
    session_id: str | None = None
    token_id: str | None = None
    expires_ts: int | None = None
    """When the session or token stops working (ms); None: never."""

    @property
    def id(self) -> str:
        return self.user["id"]

    @property
    def role(self) -> str:
        return self.user["role"]

    @property
    def is_admin(self) -> bool:
        return self.user["role"] == "admin"


async def create_session(
    db: Database, user_id: str, ttl_s: int, *, ip: str, user_agent: str
) -> tuple[str, str]:
    """A new session opened from `ip` with `user_agent`; returns (cookie value, CSRF)."""
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = now_ms()
    async with db.write() as conn:
        await session_queries.insert_session(
            conn,
            {
                "token_hash": token_hash(cookie),
                "id": new_id("se"),
                "user_id": user_id,
                "csrf_token": csrf,
                "created_ts": now,
                "expires_ts": now + ttl_s * 1000,
                "last_used_ts": now,
                "ip": ip[:64],
                "user_agent": user_agent[:USER_AGENT_CHARS] or None,
            },
        )
    return cookie, csrf


async def create_api_token(
    db: Database, user_id: str, name: str, expires_ts: int | None = None
) -> dict[str, Any]:
    """A new bearer token: its row (id, name, created_ts, expires_ts) and `token`, the
    secret, which is shown once and stored only as its hash."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = {
        "id": new_id("tk"),
        "user_id": user_id,
        "name": name,
        "token_hash": token_hash(token),
        "created_ts": now_ms(),
        "expires_ts": expires_ts,
    }
    async with db.write() as conn:
        await user_queries.insert_token(conn, row)
    return {
        "id": row["id"],
        "name": name,
        "created_ts": row["created_ts"],
        "last_used_ts": None,
        "expires_ts": expires_ts,
        "token": token,
    }


async def principal_from_token(db: Database, token: str) -> Principal | None:
    """The principal of a live API token (unrevoked, unexpired, active user), else None."""
    now = now_ms()
    async with db.read() as conn:
        found = await user_queries.user_by_token_hash(conn, token_hash(token), now)
    if found is None:
        return None
    user, row = found
    if (row["last_used_ts"] or 0) < now - TOUCH_EVERY_MS:
        async with db.write() as conn:
            await user_queries.touch_token(conn, row["id"], now)
    return Principal(user=user, via="token", token_id=row["id"], expires_ts=row["expires_ts"])


async def principal_from_cookie(db: Database, cookie: str) -> Principal | None:
    """The principal of a live session cookie, else None."""
    digest = token_hash(cookie)
    now = now_ms()
    async with db.read() as conn:
        found = await session_queries.session_user(conn, digest, now)
    if found is None:
        return None
    user, session = found
    if (session["last_used_ts"] or 0) < now - TOUCH_EVERY_MS:
        async with db.write() as conn:
            await session_queries.touch_session(conn, digest, now)
    return Principal(
        user=user,
        via="session",
        session_hash=digest,
        csrf_token=session["csrf_token"],
        session_id=session["id"],
        expires_ts=session["expires_ts"],
    )


async def authenticate(
    db: Database, *, method: str, headers: Any, cookies: dict[str, str]
) -> Principal | None:
    """Resolve the caller from `Authorization: Bearer` or the session cookie.

    Raises ApiError(unauthorized) for a bearer token that is not valid (a wrong token is
    an error, not anonymity) and ApiError(forbidden) when a cookie session makes an
    unsafe request without the matching `X-CSRF-Token`. Returns None when anonymous.
    """
    authorization = headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError("unauthorized", "Authorization must be 'Bearer <token>'")
        principal = await principal_from_token(db, token.strip())
        if principal is None:
            raise ApiError("unauthorized", "the API token is not valid")
        return principal
    cookie = cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    principal = await principal_from_cookie(db, cookie)
    if principal is None:
        return None
    if method in UNSAFE_METHODS:
        sent = headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, principal.csrf_token or ""):
            raise ApiError("forbidden", "missing or wrong X-CSRF-Token header")
    return principal
