"""Build an email (multipart text + HTML) from plain values. Pure: no I/O, no clock.

Every value that came from a visitor, an agent or an admin (names, message texts, the
site's name) is HTML-escaped in the HTML part and passes through `addresses` before it
reaches a header, and the `email` package's policy refuses any header value with a line
break — so neither markup nor a header can be injected (docs/mail.md, "Safety").
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from server.mail import addresses
from server.mail.i18n import language, words

MAX_QUOTED = 20  # earlier messages quoted below a reply, newest last


@dataclass(frozen=True, slots=True)
class Line:
    """One message of the conversation as quoted: who said it, what, when (ms)."""

    author: str
    text: str
    ts: int


@dataclass(frozen=True, slots=True)
class Letter:
    """What one email says and where it goes; `kind` is "reply" or "transcript"."""

    kind: str
    lang: str
    site_name: str
    sender: str  # the from-address (BECKON_MAIL_FROM)
    recipient: str
    recipient_name: str | None
    message_id: str  # "<…@…>"
    date_ms: int
    agent_name: str = ""
    text: str = ""  # the new message (a reply); empty for a transcript
    history: list[Line] = field(default_factory=list)
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)


def _fill(template: str, letter: Letter, escape: bool) -> str:
    site = addresses.display_name(letter.site_name) or "Beckon"
    agent = addresses.display_name(letter.agent_name) or site
    if escape:
        site, agent = html.escape(site), html.escape(agent)
    return template.replace("{site}", site).replace("{agent}", agent)


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _text_part(letter: Letter, w: dict[str, str]) -> str:
    out: list[str] = []
    if letter.kind == "reply":
        out += [_fill(w["reply_intro"], letter, False), "", letter.text, ""]
        out += [w["reply_hint"], ""]
        label = w["history"]
    else:
        out += [_fill(w["transcript_intro"], letter, False), ""]
        label = ""
    if letter.history:
        if label:
            out += [f"-- {label} --", ""]
        for line in letter.history[-MAX_QUOTED:] if letter.kind == "reply" else letter.history:
            prefix = "> " if letter.kind == "reply" else ""
            out.append(f"{prefix}{line.author} ({_when(line.ts)}):")
            out += [f"{prefix}{part}" for part in line.text.splitlines() or [""]]
            out.append(prefix.rstrip())
    return "\n".join(out).rstrip() + "\n"


def _html_block(text: str) -> str:
    return "<br>\n".join(html.escape(part) for part in text.splitlines())


def _html_part(letter: Letter, w: dict[str, str]) -> str:
    lang = language(letter.lang)
    body: list[str] = []
    if letter.kind == "reply":
        body.append(f"<p>{_fill(w['reply_intro'], letter, True)}</p>")
        body.append(f"<p>{_html_block(letter.text)}</p>")
        body.append(f'<p style="color:#666">{html.escape(w["reply_hint"])}</p>')
        history = letter.history[-MAX_QUOTED:]
    else:
        body.append(f"<p>{_fill(w['transcript_intro'], letter, True)}</p>")
        history = letter.history
    if history:
        quote = []
        for line in history:
            quote.append(
                f"<p><b>{html.escape(line.author)}</b> "
                f'<span style="color:#666">{_when(line.ts)}</span><br>\n'
                f"{_html_block(line.text)}</p>"
            )
        if letter.kind == "reply":
            body.append(f"<p><i>{html.escape(w['history'])}</i></p>")
            body.append(
                '<blockquote style="border-left:3px solid #ccc;margin:0;padding-left:12px">'
                + "\n".join(quote)
                + "</blockquote>"
            )
        else:
            body += quote
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"></head>'
        f'<body style="font-family:sans-serif">{"".join(body)}</body></html>\n'
    )


def subject(letter: Letter) -> str:
    w = words(letter.lang)
    return _fill(w[f"{letter.kind}_subject"], letter, False)


def build(letter: Letter) -> EmailMessage:
    """The message, ready to send. Raises BadAddress for an unusable recipient."""
    w = words(letter.lang)
    to = Address(
        display_name=addresses.display_name(letter.recipient_name),
        addr_spec=addresses.recipient(letter.recipient),
    )
    site = addresses.display_name(letter.site_name)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=site, addr_spec=letter.sender)
    msg["To"] = to
    msg["Subject"] = subject(letter)
    msg["Date"] = format_datetime(datetime.fromtimestamp(letter.date_ms / 1000, UTC))
    msg["Message-ID"] = letter.message_id
    if letter.reply_to:
        msg["Reply-To"] = Address(display_name=site, addr_spec=letter.reply_to)
    if letter.in_reply_to:
        msg["In-Reply-To"] = letter.in_reply_to
    if letter.references:
        msg["References"] = " ".join(letter.references)
    msg["Auto-Submitted"] = "auto-generated" if letter.kind == "transcript" else "no"
    msg.set_content(_text_part(letter, w))
    msg.add_alternative(_html_part(letter, w), subtype="html")
    msg["Content-Language"] = language(letter.lang)  # after: set_content clears Content-*
    return msg


@dataclass(frozen=True, slots=True)
class AccountLetter:
    """An account email: `kind` "invite" or "reset", with its single-use `link`."""

    kind: str
    lang: str
    product: str  # the name shown as sender and in the text, e.g. "Beckon"
    inviter: str  # who invited (invite only)
    sender: str
    recipient: str
    recipient_name: str | None
    link: str
    hours: int
    message_id: str
    date_ms: int


def build_account(letter: AccountLetter) -> EmailMessage:
    """The invite or reset email (text + HTML). Raises BadAddress for a bad recipient."""
    w = words(letter.lang)
    product = addresses.display_name(letter.product) or "Beckon"
    inviter = addresses.display_name(letter.inviter) or product

    def fill(template: str, escape: bool) -> str:
        site, agent = (html.escape(product), html.escape(inviter)) if escape else (product, inviter)
        out = template.replace("{site}", site).replace("{agent}", agent)
        return out.replace("{hours}", str(letter.hours))

    intro, hint = w[f"{letter.kind}_intro"], w["link_hint"]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=product, addr_spec=letter.sender)
    msg["To"] = Address(
        display_name=addresses.display_name(letter.recipient_name),
        addr_spec=addresses.recipient(letter.recipient),
    )
    msg["Subject"] = fill(w[f"{letter.kind}_subject"], False)
    msg["Date"] = format_datetime(datetime.fromtimestamp(letter.date_ms / 1000, UTC))
    msg["Message-ID"] = letter.message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(f"{fill(intro, False)}\n\n{letter.link}\n\n{fill(hint, False)}\n")
    link = html.escape(letter.link, quote=True)
    msg.add_alternative(
        f'<!doctype html><html lang="{language(letter.lang)}"><head><meta charset="utf-8">'
        f'</head><body style="font-family:sans-serif"><p>{fill(intro, True)}</p>'
        f'<p><a href="{link}">{link}</a></p><p style="color:#666">{fill(hint, True)}</p>'
        "</body></html>\n",
        subtype="html",
    )
    msg["Content-Language"] = language(letter.lang)
    return msg
