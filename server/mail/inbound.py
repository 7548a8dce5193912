"""Reading a visitor's reply by email. Pure: bytes in, fields out.

`parse` takes the raw RFC 5322 message; `trim` keeps only what the visitor wrote
above the quoted history and their signature; `conversation_of` finds the conversation
from the signed reply address (envelope recipients, To, Cc, Delivered-To) or the signed
thread root in In-Reply-To/References — never from anything unsigned.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from server.mail import addresses

MAX_TEXT = 4000  # characters kept from one reply (a chat message's bound)

# The line a mail client writes above the quoted message, in the widget's languages,
# and the separators that start quoted history or a signature.
_QUOTE_HEADER = re.compile(
    r"^\s*(On\b.+\bwrote:|Am\b.+\bschrieb.*:|Le\b.+\ba écrit\s*:|El\b.+\bescribió:"
    r"|Il\b.+\bha scritto:|.+\bje napisa(o|la|l)\s*:|.+\bwrote:)\s*$",
    re.IGNORECASE,
)
_SEPARATORS = (
    re.compile(r"^\s*-+\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)", re.I),
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^\s*From:\s.+@", re.I),
    re.compile(r"^-- $|^--$"),  # the signature delimiter
    re.compile(r"^\s*-- .+ --\s*$"),  # the history label Beckon's own emails carry
    re.compile(r"^\s*Sent from my ", re.I),
)


class NotAnEmail(ValueError):
    """The bytes are not a readable email message."""


@dataclass(frozen=True, slots=True)
class Inbound:
    sender: str  # the From address, lower-cased ("" when missing)
    recipients: list[str]  # To, Cc, Delivered-To and the envelope's RCPT TO
    message_id: str
    thread_headers: list[str]  # In-Reply-To, References
    text: str  # the body as written, before trimming


def _body_text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset, a broken encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_subtype() == "html":
        content = re.sub(r"(?is)<(script|style|blockquote).*?</\1>", "", content)
        content = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content)
        content = html.unescape(re.sub(r"<[^>]+>", "", content))
    return str(content)


def parse(raw: bytes, envelope_recipients: list[str] | None = None) -> Inbound:
    """Raises NotAnEmail when there is no From header and no body to read."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; this is a last resort
        raise NotAnEmail(str(exc)) from None
    if not isinstance(msg, EmailMessage) or not msg.get("From"):
        raise NotAnEmail("no From header")
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    listed = [str(v) for h in ("To", "Cc", "Delivered-To") for v in msg.get_all(h, [])]
    recipients = [a for _, a in getaddresses(listed) if a] + list(envelope_recipients or [])
    thread = [str(v) for h in ("In-Reply-To", "References") for v in msg.get_all(h, [])]
    return Inbound(
        sender=sender,
        recipients=recipients,
        message_id=str(msg.get("Message-ID", "")).strip()[:300],
        thread_headers=thread,
        text=_body_text(msg),
    )


def trim(text: str) -> str:
    """What the visitor wrote: above quoted lines, a quote header or a signature."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.lstrip().startswith(">") or _QUOTE_HEADER.match(line):
            break
        if any(pattern.match(line) for pattern in _SEPARATORS):
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()[:MAX_TEXT]


def conversation_of(secret: str, inbound: Inbound) -> str | None:
    """The conversation a reply belongs to, from signed addresses or headers only."""
    for address in inbound.recipients:
        found = addresses.conversation_of_address(secret, address)
        if found:
            return found
    return addresses.conversation_of_references(secret, inbound.thread_headers)
