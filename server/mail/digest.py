"""The email telling an agent what is new in the inbox (text + HTML). Pure.

It says how many items are new on which site, never who wrote or what: a visitor's
words stay in the product, where erasure reaches them (an email once sent does not
forget). The site's name came from an admin: escaped in the HTML part; the agent's name
passes through `addresses` before it reaches a header.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from server.mail import addresses
from server.mail.i18n import language, words

MAX_LISTED = 50  # sites listed


@dataclass(frozen=True, slots=True)
class Entry:
    site: str
    count: int  # new items on the site


@dataclass(frozen=True, slots=True)
class Digest:
    lang: str
    sender: str
    recipient: str
    recipient_name: str
    entries: list[Entry]  # per site, at most MAX_LISTED
    total: int  # all new items
    link: str  # the console's inbox
    message_id: str
    date_ms: int


def _line(entry: Entry) -> str:
    return f"{addresses.display_name(entry.site) or '—'}: {entry.count}"


def build_digest(digest: Digest) -> EmailMessage:
    """Raises BadAddress for an unusable recipient."""
    w = words(digest.lang)
    count = str(digest.total)
    lines = [_line(e) for e in digest.entries[:MAX_LISTED]]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name="Beckon", addr_spec=digest.sender)
    msg["To"] = Address(
        display_name=addresses.display_name(digest.recipient_name),
        addr_spec=addresses.recipient(digest.recipient),
    )
    msg["Subject"] = w["digest_subject"].replace("{count}", count)
    msg["Date"] = format_datetime(datetime.fromtimestamp(digest.date_ms / 1000, UTC))
    msg["Message-ID"] = digest.message_id
    msg["Auto-Submitted"] = "auto-generated"
    text = [w["digest_intro"], "", *[f"- {line}" for line in lines], "", w["digest_open"]]
    text.append(digest.link)
    msg.set_content("\n".join(text) + "\n")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    link = html.escape(digest.link, quote=True)
    msg.add_alternative(
        f'<!doctype html><html lang="{language(digest.lang)}"><head><meta charset="utf-8">'
        f'</head><body style="font-family:sans-serif"><p>{html.escape(w["digest_intro"])}</p>'
        f"<ul>{items}</ul>"
        f'<p>{html.escape(w["digest_open"])} <a href="{link}">{link}</a></p></body></html>\n',
        subtype="html",
    )
    msg["Content-Language"] = language(digest.lang)
    return msg
