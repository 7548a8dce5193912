"""Who is calling: passwords, cookie sessions with CSRF, bearer API tokens, roles.

Secrets are stored only as hashes: argon2 for passwords, sha256 for session and API
tokens (they are random 256-bit values, so a fast hash is enough and lookups stay O(1)).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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

_hasher = PasswordHasher()
# Verified against when the email is unknown, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_password_check(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user and how they proved it."""

    user: dict[str, Any]
    via: str  # "session" or "token"
    session_hash: str | None = None
    csrf_token: str | None = None

    @property
    def id(self) -> str:
        return self.user["id"]

    @property
    def role(self) -> str:
        return self.user["role"]

    @property
    def is_admin(self) -> bool:
        return self.user["role"] == "admin"


async def create_session(db: Database, user_id: str, ttl_s: int) -> tuple[str, str]:
    """A new session; returns (cookie value, CSRF token)."""
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = now_ms()
    async with db.write() as conn:
        await session_queries.insert_session(
            conn,
            {
                "token_hash": token_hash(cookie),
                "user_id": user_id,
                "csrf_token": csrf,
                "created_ts": now,
                "expires_ts": now + ttl_s * 1000,
            },
        )
    return cookie, csrf


async def create_api_token(db: Database, user_id: str, name: str) -> tuple[str, str]:
    """A new bearer token; returns (token id, token). The token is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = new_id("tk")
    async with db.write() as conn:
        await user_queries.insert_token(
            conn,
            {
                "id": token_id,
                "user_id": user_id,
                "name": name,
                "token_hash": token_hash(token),
                "created_ts": now_ms(),
            },
        )
    return token_id, token


async def principal_from_token(db: Database, token: str) -> Principal | None:
    async with db.read() as conn:
        found = await user_queries.user_by_token_hash(conn, token_hash(token))
    if found is None:
        return None
    return Principal(user=found[0], via="token")


async def principal_from_cookie(db: Database, cookie: str) -> Principal | None:
    digest = token_hash(cookie)
    async with db.read() as conn:
        found = await session_queries.session_user(conn, digest, now_ms())
    if found is None:
        return None
    user, csrf = found
    return Principal(user=user, via="session", session_hash=digest, csrf_token=csrf)


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
