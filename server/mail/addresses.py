"""Addresses and threading ids: who may receive mail, and which reply belongs where. Pure.

- A recipient is checked strictly (one `local@domain`, no spaces, quotes, angle
  brackets, commas or control characters), so a stored address can never smuggle a
  second recipient or a header.
- A display name (the visitor's or the site's) loses control characters and line
  breaks and is cut to 100 characters before it goes into a header.
- The per-conversation reply address `reply+<conversation id>.<mac>@<domain>` and the
  thread root `<c.<conversation id>.<mac>@<domain>>` carry an HMAC of the conversation
  id under the server secret: a reply is matched only to the conversation whose id
  *and* signature it quotes, so guessing an id is not enough to post into a chat.
"""

from __future__ import annotations

import hashlib
import hmac
import re

MAX_NAME = 100
_RECIPIENT = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")
_MAC_HEX = 20  # 80 bits: unguessable, short enough for a local part
_REPLY = re.compile(r"reply\+([A-Za-z0-9_]{3,40})\.([0-9a-f]{20})@(.+)", re.IGNORECASE)
_ROOT = re.compile(r"<c\.([A-Za-z0-9_]{3,40})\.([0-9a-f]{20})@([^>\s]+)>")


class BadAddress(ValueError):
    """An address that must not be mailed to."""


def recipient(value: str | None) -> str:
    """`value` when it is one plain deliverable-looking address; raises BadAddress."""
    if not value or len(value) > 254 or _RECIPIENT.fullmatch(value) is None:
        raise BadAddress(f"not a single plain email address: {value!r}"[:300])
    if ".." in value or "." not in value.rsplit("@", 1)[1]:
        raise BadAddress(f"not a single plain email address: {value!r}"[:300])
    return value


def display_name(value: str | None) -> str:
    """A name safe for a header's display part (may be empty)."""
    if not value:
        return ""
    return " ".join(_CONTROL.sub(" ", value).split())[:MAX_NAME]


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1].lower()


def _mac(secret: str, conversation_id: str) -> str:
    digest = hmac.new(secret.encode(), f"mail-thread:{conversation_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:_MAC_HEX]


def reply_address(secret: str, conversation_id: str, domain: str) -> str:
    """Where the visitor's reply to a conversation's email goes."""
    return f"reply+{conversation_id}.{_mac(secret, conversation_id)}@{domain}"


def thread_root(secret: str, conversation_id: str, domain: str) -> str:
    """The Message-ID every email of a conversation refers to (References, first)."""
    return f"<c.{conversation_id}.{_mac(secret, conversation_id)}@{domain}>"


def conversation_of_address(secret: str, address: str) -> str | None:
    """The conversation a (signed) reply address names, or None (unsigned, forged)."""
    match = _REPLY.fullmatch(address.strip().strip("<>"))
    if match is None:
        return None
    conversation_id, mac = match.group(1), match.group(2).lower()
    return conversation_id if hmac.compare_digest(mac, _mac(secret, conversation_id)) else None


def conversation_of_references(secret: str, header_values: list[str]) -> str | None:
    """The conversation whose signed thread root appears in In-Reply-To/References."""
    for value in header_values:
        for match in _ROOT.finditer(value or ""):
            conversation_id, mac = match.group(1), match.group(2).lower()
            if hmac.compare_digest(mac, _mac(secret, conversation_id)):
                return conversation_id
    return None
