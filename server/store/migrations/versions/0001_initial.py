"""Initial schema: sites, users, sessions, tokens, visitors, conversations, messages.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

false = sa.text("false")
true = sa.text("true")


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("allowed_origins", sa.JSON, nullable=False),
        sa.Column("identity_secret", sa.String(128), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("default_lang", sa.String(16), nullable=False),
        sa.Column("widget", sa.JSON, nullable=False),
        sa.Column("departments", sa.JSON, nullable=False),
        sa.Column("business_hours", sa.JSON, nullable=True),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("avatar_url", sa.String(500), nullable=True),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("departments", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=true),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "site_members",
        sa.Column(
            "site_id",
            sa.String(32),
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.String(32),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("expires_ts", sa.BigInteger, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=false),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("last_used_ts", sa.BigInteger, nullable=True),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=false),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_login_failures_subject_ts", "login_failures", ["subject", "ts"])
    op.create_table(
        "visitors",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(200), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("first_seen_ts", sa.BigInteger, nullable=False),
        sa.Column("last_seen_ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_visitors_site_id_user_id", "visitors", ["site_id", "user_id"])
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "visitor_id",
            sa.String(32),
            sa.ForeignKey("visitors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column(
            "agent_id", sa.String(32), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("rule_id", sa.String(64), nullable=True),
        sa.Column("variant_id", sa.String(64), nullable=True),
        sa.Column("invitation_id", sa.String(32), nullable=True),
        sa.Column("last_seq", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("accepted_ts", sa.BigInteger, nullable=True),
        sa.Column("first_response_ts", sa.BigInteger, nullable=True),
        sa.Column("closed_ts", sa.BigInteger, nullable=True),
        sa.Column("closed_by", sa.String(16), nullable=True),
    )
    op.create_index(
        "ix_conversations_site_id_status_created_ts",
        "conversations",
        ["site_id", "status", "created_ts"],
    )
    op.create_index("ix_conversations_agent_id_status", "conversations", ["agent_id", "status"])
    op.create_index(
        "uq_conversations_open_visitor",
        "conversations",
        ["visitor_id"],
        unique=True,
        sqlite_where=sa.text("status <> 'closed'"),
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("author_kind", sa.String(8), nullable=False),
        sa.Column("author_id", sa.String(32), nullable=True),
        sa.Column("author_name", sa.String(200), nullable=True),
        sa.Column("sender", sa.String(40), nullable=True),
        sa.Column("client_msg_id", sa.String(64), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("internal", sa.Boolean, nullable=False, server_default=false),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_id_seq"),
        sa.UniqueConstraint(
            "conversation_id",
            "sender",
            "client_msg_id",
            name="uq_messages_conversation_id_sender_client_msg_id",
        ),
    )


def downgrade() -> None:
    for table in (
        "messages",
        "conversations",
        "visitors",
        "login_failures",
        "api_tokens",
        "sessions",
        "site_members",
        "users",
        "sites",
    ):
        op.drop_table(table)
