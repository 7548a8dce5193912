"""The inbox: one item per offline message, missed chat or chat the visitor left before
an agent answered — with its status (new, assigned, waiting, done), its agent, and how far
the visitor has read the agents' follow-up replies.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("offline_message_id", sa.String(32), nullable=True),
        sa.Column("visitor_id", sa.String(32), nullable=True),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column(
            "agent_id", sa.String(32), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("updated_ts", sa.BigInteger, nullable=False),
        sa.Column("reply_seq", sa.Integer, nullable=True),
        sa.Column("seen_seq", sa.Integer, nullable=False, server_default=sa.text("0")),
    )
    op.create_index(
        "ix_inbox_items_site_id_status_created_ts",
        "inbox_items",
        ["site_id", "status", "created_ts"],
    )
    op.create_index("ix_inbox_items_visitor_id", "inbox_items", ["visitor_id"])
    # One item per conversation: a missed chat that also became an offline message is one.
    op.create_index(
        "ix_inbox_items_conversation_id", "inbox_items", ["conversation_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_items_conversation_id", "inbox_items")
    op.drop_index("ix_inbox_items_visitor_id", "inbox_items")
    op.drop_index("ix_inbox_items_site_id_status_created_ts", "inbox_items")
    op.drop_table("inbox_items")
