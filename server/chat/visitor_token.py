"""Signed visitor tokens: the same visitor is recognised on any node and its next visit.

Format: `v1.<base64url payload>.<base64url HMAC-SHA256>`; the payload names the site, so
a token of site A is useless on site B. Pure: the caller passes the key and `now_ms`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson

TOKEN_TTL_MS = 400 * 24 * 3600 * 1000
MAX_TOKEN_LENGTH = 512


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _signature(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, f"visitor-token.{body}".encode(), hashlib.sha256).digest())


def issue(key: bytes, site_id: str, visitor_id: str, now_ms: int) -> str:
    body = _b64(orjson.dumps({"s": site_id, "v": visitor_id, "t": now_ms}))
    return f"v1.{body}.{_signature(key, body)}"


def verify(key: bytes, token: str, site_id: str, now_ms: int) -> str | None:
    """The visitor id if `token` is authentic, unexpired and for `site_id`; else None."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "v1":
        return None
    _, body, signature = parts
    if not hmac.compare_digest(signature, _signature(key, body)):
        return None
    try:
        payload = orjson.loads(_unb64(body))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("s") != site_id:
        return None
    issued, visitor_id = payload.get("t"), payload.get("v")
    if not isinstance(issued, int) or not isinstance(visitor_id, str):
        return None
    if not issued <= now_ms < issued + TOKEN_TTL_MS:
        return None
    return visitor_id


def identity_hash(identity_secret: str, user_id: str) -> str:
    """What a site's backend computes for `hello.identity.user_hash` (hex HMAC-SHA256)."""
    return hmac.new(identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_ok(identity_secret: str, user_id: str, user_hash: str) -> bool:
    return hmac.compare_digest(identity_hash(identity_secret, user_id), user_hash.lower())
