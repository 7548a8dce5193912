"""Signed attachment URLs: who may fetch which stored variant, until when. Pure.

A URL names the attachment, the variant (`original` or `thumb`), the principal it was
issued to (`v:<visitor id>` or `s:<site id>` for the site's agents) and its expiry; the
HMAC binds all four to the server's secret. The download route then checks that the
principal still belongs to the attachment's conversation, so a URL issued for one
conversation opens nothing in another.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode

VARIANTS = ("original", "thumb")
_CONTEXT = b"beckon-media-v1"


@dataclass(frozen=True, slots=True)
class Grant:
    attachment_id: str
    variant: str
    principal: str
    expires_s: int


def _mac(secret: str, grant: Grant) -> str:
    message = "\n".join(
        (grant.attachment_id, grant.variant, grant.principal, str(grant.expires_s))
    ).encode()
    key = hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def signed_path(secret: str, grant: Grant) -> str:
    """`/media/<id>/<variant>?p=…&e=…&s=…` for `grant` (relative to the node's base URL)."""
    query = urlencode({"p": grant.principal, "e": grant.expires_s, "s": _mac(secret, grant)})
    return f"/media/{grant.attachment_id}/{grant.variant}?{query}"


class BadSignature(ValueError):
    """Missing, malformed or forged: answered 404, as if the attachment did not exist."""


class Expired(ValueError):
    """Genuine but past its expiry: answered 410 so a client knows to ask for a new one."""


def verify(
    secret: str, attachment_id: str, variant: str, query: dict[str, str], now_s: int
) -> Grant:
    """The grant a request's path and query carry; BadSignature or Expired otherwise."""
    principal, expires, signature = query.get("p", ""), query.get("e", ""), query.get("s", "")
    if variant not in VARIANTS or not principal or not expires.isdigit() or len(expires) > 12:
        raise BadSignature("malformed")
    grant = Grant(attachment_id, variant, principal, int(expires))
    if not hmac.compare_digest(_mac(secret, grant), signature):
        raise BadSignature("forged")
    if grant.expires_s <= now_s:
        raise Expired("expired")
    return grant
