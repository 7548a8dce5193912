"""Routing and the agent's day: canned replies, offline messages, surveys, missed chats,
and full-text search over transcripts (FTS5 on SQLite, tsvector on PostgreSQL).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "agent_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("shortcut", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_canned_replies_site_id", "canned_replies", ["site_id"])
    op.create_table(
        "offline_messages",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("visitor_id", sa.String(32), nullable=True),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_offline_messages_site_id_created_ts", "offline_messages", ["site_id", "created_ts"]
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("site_id", sa.String(32), nullable=False),
        sa.Column("agent_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("conversation_id", "kind", name="uq_surveys_conversation_id_kind"),
    )
    op.create_index("ix_surveys_site_id_created_ts", "surveys", ["site_id", "created_ts"])
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("missed_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("queued_ts", sa.BigInteger, nullable=True))
        batch.add_column(
            sa.Column("transfers", sa.Integer, nullable=False, server_default=sa.text("0"))
        )
    if op.get_bind().dialect.name == "sqlite":
        # An external-content FTS5 index over messages, kept in step by triggers.
        op.execute(
            "CREATE VIRTUAL TABLE messages_fts USING fts5("
            "text, content='messages', content_rowid='rowid')"
        )
        op.execute(
            "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
            "INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
            "INSERT INTO messages_fts(messages_fts, rowid, text) "
            "VALUES ('delete', old.rowid, old.text); END"
        )
        op.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    else:
        op.execute(
            "CREATE INDEX ix_messages_text_fts ON messages USING GIN (to_tsvector('simple', text))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS messages_fts_insert")
        op.execute("DROP TRIGGER IF EXISTS messages_fts_delete")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_text_fts")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("transfers")
        batch.drop_column("queued_ts")
        batch.drop_column("missed_reason")
    op.drop_table("surveys")
    op.drop_table("offline_messages")
    op.drop_table("canned_replies")
