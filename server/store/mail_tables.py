"""The mail outbox table (kept apart from `tables.py`, which many changes touch).

One row per email, written with its exact bytes when it is decided and sent by
whichever node claims it first — the same lease scheme as `webhook_outbox`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, text

from server.store.tables import metadata

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), nullable=True),  # None: account email (no site)
    Column("conversation_id", String(32), nullable=True),
    Column("visitor_id", String(32), nullable=True),
    Column("kind", String(16), nullable=False),  # reply, transcript, invite, reset
    Column("recipient", String(254), nullable=False),
    Column("message_id", String(300), nullable=False),
    Column("body", Text, nullable=False),  # the RFC 5322 message, before DKIM
    # Sent only if the visitor is still away when it falls due (else status "skipped").
    Column("unless_online", Boolean, nullable=False, server_default=text("false")),
    Column("status", String(16), nullable=False),  # pending, sent, failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_ts", BigInteger, nullable=False),
    Column("locked_until", BigInteger, nullable=True),
    Column("locked_by", String(64), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("sent_ts", BigInteger, nullable=True),
    Index(None, "status", "next_attempt_ts"),
    Index(None, "visitor_id", "created_ts"),
    Index(None, "site_id", "created_ts"),
    Index(None, "conversation_id", "created_ts"),
)

# Links sent by account emails (invite a teammate, forgot password): only the SHA-256
# of the token is kept; `used_ts` makes a link single-use.
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("id", String(64), primary_key=True),  # hex SHA-256 of the token
    Column("user_id", String(32), nullable=False),
    Column("purpose", String(16), nullable=False),  # invite, reset
    Column("created_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    Column("used_ts", BigInteger, nullable=True),
    Index(None, "user_id", "created_ts"),
)

# An agent's choice to be emailed about new inbox items (their console's inbox toggle),
# and where the digests stand: `cursor_ts` — items updated after it are not reported
# yet; `sent_ts` — the last digest (at most one per BECKON_MAIL_INBOX_ALERT_S).
agent_mail_prefs = Table(
    "agent_mail_prefs",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("inbox_email", Boolean, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("cursor_ts", BigInteger, nullable=False),
    Column("sent_ts", BigInteger, nullable=False, server_default="0"),
    Index(None, "inbox_email"),
)
