"""Attachments: files and images uploaded into a conversation (server/media/).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sender", sa.String(40), nullable=False),
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("mime", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("has_thumb", sa.Boolean, nullable=False),
        sa.Column("message_id", sa.String(32), nullable=True),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("conversation_id", "sender", "upload_id"),
    )
    op.create_index("ix_attachments_site", "attachments", ["site_id"])
    op.create_index("ix_attachments_orphans", "attachments", ["message_id", "created_ts"])


def downgrade() -> None:
    op.drop_index("ix_attachments_orphans", table_name="attachments")
    op.drop_index("ix_attachments_site", table_name="attachments")
    op.drop_table("attachments")
