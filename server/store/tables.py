"""Table definitions (SQLAlchemy Core). The schema itself changes only by migrations.

Times are integer milliseconds since the epoch (UTC), as on the wire.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sites = Table(
    "sites",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("allowed_origins", JSON, nullable=False),
    Column("identity_secret", String(128), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("default_lang", String(16), nullable=False),
    Column("widget", JSON, nullable=False),
    Column("departments", JSON, nullable=False),
    Column("business_hours", JSON, nullable=True),
    Column("settings", JSON, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("avatar_url", String(500), nullable=True),
    Column("title", String(80), nullable=True),  # shown with the name (server/profile/)
    Column("capacity", Integer, nullable=False),
    Column("departments", JSON, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_ts", BigInteger, nullable=False),
)

site_members = Table(
    "site_members",
    metadata,
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

sessions = Table(
    "sessions",
    metadata,
    # sha256 of the cookie value: a leaked table cannot be replayed as cookies.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    Column("revoked", Boolean, nullable=False, server_default=text("false")),
    # The id users see and end a session by (the cookie's hash is never shown).
    Column("id", String(32), nullable=True),
    Column("last_used_ts", BigInteger, nullable=True),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
    Index("ix_sessions_id", "id", unique=True),
    Index(None, "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("last_used_ts", BigInteger, nullable=True),
    Column("revoked", Boolean, nullable=False, server_default=text("false")),
    Column("expires_ts", BigInteger, nullable=True),  # null: never expires
    Index(None, "user_id"),
)

visitors = Table(
    "visitors",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(200), nullable=True),
    Column("name", String(200), nullable=True),
    Column("email", String(254), nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("first_seen_ts", BigInteger, nullable=False),
    Column("last_seen_ts", BigInteger, nullable=False),
    Index(None, "site_id", "user_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(32), ForeignKey("visitors.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("department", String(64), nullable=True),
    Column("agent_id", String(32), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("rule_id", String(64), nullable=True),
    Column("variant_id", String(64), nullable=True),
    Column("invitation_id", String(32), nullable=True),
    Column("last_seq", Integer, nullable=False, server_default=text("0")),
    Column("created_ts", BigInteger, nullable=False),
    Column("accepted_ts", BigInteger, nullable=True),
    Column("first_response_ts", BigInteger, nullable=True),
    Column("closed_ts", BigInteger, nullable=True),
    Column("closed_by", String(16), nullable=True),
    Column("missed_reason", String(32), nullable=True),
    Column("queued_ts", BigInteger, nullable=True),
    Column("transfers", Integer, nullable=False, server_default=text("0")),
    Index(None, "site_id", "status", "created_ts"),
    Index(None, "agent_id", "status"),
    Index(None, "visitor_id", "created_ts"),  # a visitor's chats: counted, listed
    # Guarantee 5: one open conversation per visitor, enforced by the database so two
    # nodes racing on chat_start cannot both win.
    Index(
        "uq_conversations_open_visitor",
        "visitor_id",
        unique=True,
        sqlite_where=text("status <> 'closed'"),
        postgresql_where=text("status <> 'closed'"),
    ),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "conversation_id",
        String(32),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("author_kind", String(8), nullable=False),
    Column("author_id", String(32), nullable=True),
    Column("author_name", String(200), nullable=True),
    # client_msg_id is scoped to its sender ("v:<visitor>" / "a:<agent>"): a widget and a
    # console that both number their messages "c1", "c2" must not collide.
    Column("sender", String(40), nullable=True),
    Column("client_msg_id", String(64), nullable=True),
    Column("text", Text, nullable=False),
    Column("internal", Boolean, nullable=False, server_default=text("false")),
    Column("ts", BigInteger, nullable=False),
    UniqueConstraint("conversation_id", "seq"),
    UniqueConstraint("conversation_id", "sender", "client_msg_id"),
)

# How far the full-text search index has reached in each conversation (migration 0016,
# server/store/search_index.py); no row: nothing indexed yet.
message_search_progress = Table(
    "message_search_progress",
    metadata,
    Column(
        "conversation_id",
        String(32),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("indexed_seq", Integer, nullable=False),
)

visit_events = Table(
    "visit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(32), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("type", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    Index(None, "site_id", "ts"),
    Index(None, "visitor_id", "ts"),
)

canned_replies = Table(
    "canned_replies",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    # NULL: shared by the site's agents; else one agent's own.
    Column("agent_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("shortcut", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Index(None, "site_id"),
)

offline_messages = Table(
    "offline_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(32), nullable=True),
    Column("conversation_id", String(32), nullable=True),
    Column("name", String(200), nullable=True),
    Column("email", String(254), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Index(None, "site_id", "created_ts"),
)

surveys = Table(
    "surveys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "conversation_id",
        String(32),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("site_id", String(32), nullable=False),
    Column("agent_id", String(32), nullable=True),
    Column("kind", String(8), nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_ts", BigInteger, nullable=False),
    UniqueConstraint("conversation_id", "kind"),
    Index(None, "site_id", "created_ts"),
)

rules = Table(
    "rules",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    Index(None, "site_id"),
)

rule_versions = Table(
    "rule_versions",
    metadata,
    Column("rule_id", String(32), ForeignKey("rules.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("body", JSON, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("created_by", String(32), nullable=True),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(32), nullable=False),
    Column("rule_id", String(32), nullable=True),  # NULL: a manual invite from an agent
    Column("rule_version", Integer, nullable=True),
    Column("variant_id", String(64), nullable=True),
    # triggered, held_out, shown, accepted, dismissed, expired, withdrawn
    Column("status", String(16), nullable=False),
    Column("text", Text, nullable=True),
    Column("agent_id", String(32), nullable=True),
    Column("conversation_id", String(32), nullable=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("shown_ts", BigInteger, nullable=True),
    Column("answered_ts", BigInteger, nullable=True),
    Index(None, "site_id", "created_ts"),
    Index(None, "rule_id", "created_ts"),
    Index(None, "visitor_id"),
)

conversions = Table(
    "conversions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(32), nullable=True),
    Column("user_id", String(200), nullable=True),
    Column("ts", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("order_id", String(200), nullable=True),
    Column("invitation_id", String(32), nullable=True),
    Column("rule_id", String(32), nullable=True),
    Column("rule_version", Integer, nullable=True),
    Column("variant_id", String(64), nullable=True),
    Column("held_out", Boolean, nullable=False, server_default=text("false")),
    # Reported by the widget (anyone can send it), not by the site's backend: kept out
    # of revenue uplift unless the site's `trust_client_conversions` is on.
    Column("client_reported", Boolean, nullable=False, server_default=text("false")),
    UniqueConstraint("site_id", "order_id"),
    Index(None, "site_id", "ts"),
    Index(None, "rule_id", "ts"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("description", String(200), nullable=False, server_default=""),
    Column("events", JSON, nullable=False),
    # Shown once at creation; signs every delivery (X-Beckon-Signature).
    Column("secret", String(128), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_ts", BigInteger, nullable=False),
    Column("created_by", String(32), nullable=True),
    # Consecutive failed attempts; at BECKON_WEBHOOK_PAUSE_AFTER the endpoint is paused
    # (paused_ts set): its deliveries wait in the outbox until an admin resumes it.
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("paused_ts", BigInteger, nullable=True),
    Column("paused_reason", String(500), nullable=True),
    Index(None, "site_id"),
)

# The outbox: one row per (event, webhook), written when the event happens and sent by
# whichever node claims it first (`locked_until` is the claim's lease).
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", String(32), primary_key=True),  # the X-Beckon-Delivery id
    Column("webhook_id", String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("site_id", String(32), nullable=False),
    Column("event", String(64), nullable=False),
    Column("event_id", String(32), nullable=False),
    Column("body", Text, nullable=False),  # the exact bytes sent (UTF-8 JSON)
    Column("status", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_ts", BigInteger, nullable=False),
    Column("locked_until", BigInteger, nullable=True),
    Column("locked_by", String(64), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("delivered_ts", BigInteger, nullable=True),
    Index(None, "status", "next_attempt_ts"),
    Index(None, "webhook_id", "created_ts"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column(
        "delivery_id",
        String(32),
        ForeignKey("webhook_outbox.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("ts", BigInteger, nullable=False),
    Column("node", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # None: no HTTP answer (see error)
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Index(None, "delivery_id"),
)

# The inbox (server/chat/inbox.py): offline messages, missed chats and chats the visitor
# left unanswered, each with a status and an agent; seen_seq: the visitor has read the
# agents' follow-up replies up to this seq.
inbox_items = Table(
    "inbox_items",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # offline_message, missed, unanswered
    Column("status", String(16), nullable=False),  # new, assigned, waiting, done
    Column("conversation_id", String(32), nullable=True),
    Column("offline_message_id", String(32), nullable=True),
    Column("visitor_id", String(32), nullable=True),
    Column("department", String(64), nullable=True),
    Column("agent_id", String(32), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("name", String(200), nullable=True),
    Column("email", String(254), nullable=True),
    Column("text", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
    Column("reply_seq", Integer, nullable=True),
    Column("seen_seq", Integer, nullable=False, server_default=text("0")),
    Index(None, "site_id", "status", "created_ts"),
    Index(None, "visitor_id"),
    Index(None, "conversation_id", unique=True),
)


# Who changed what: written only by server/audit/, never by a REST
# call; pruned after BECKON_AUDIT_RETENTION_DAYS. No foreign keys: an entry outlives
# the site, user or rule it names.
audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("ts", BigInteger, nullable=False),
    Column("actor_id", String(32), nullable=True),  # None: the system (e.g. the CLI)
    Column("actor_email", String(254), nullable=True),
    Column("actor_role", String(16), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("action", String(64), nullable=False),
    Column("site_id", String(32), nullable=True),
    Column("target", String(200), nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Index(None, "ts"),
    Index(None, "site_id", "ts"),
    Index(None, "actor_id", "ts"),
)

# Visitors an agent blocked: by visitor id or by network (an address
# is stored as its /32 or /128). Lifted bans are kept (lifted_ts) for the record.
visitor_bans = Table(
    "visitor_bans",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(32), nullable=True),
    Column("network", String(64), nullable=True),
    Column("reason", String(500), nullable=False),
    Column("created_by", String(32), nullable=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=True),  # None: until lifted
    Column("lifted_ts", BigInteger, nullable=True),
    Column("lifted_by", String(32), nullable=True),
    Index(None, "site_id", "lifted_ts"),
)


# Tables declared in their own modules join `metadata` here, so whoever reads the
# schema from `tables` (migrations' checks, the erasure test that enumerates every
# table) sees all of them.
from server.store import attachments as _attachments  # noqa: E402, F401
from server.store import avatars as _avatars  # noqa: E402, F401
from server.store import decision_tables as _decision_tables  # noqa: E402, F401
from server.store import mail_tables as _mail_tables  # noqa: E402, F401
