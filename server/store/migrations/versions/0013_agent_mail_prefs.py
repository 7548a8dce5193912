"""Agents' opt-in email for new inbox items (server/mail/inbox_alerts.py).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_mail_prefs",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("inbox_email", sa.Boolean, nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("cursor_ts", sa.BigInteger, nullable=False),
        sa.Column("sent_ts", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_agent_mail_prefs_inbox_email", "agent_mail_prefs", ["inbox_email"])


def downgrade() -> None:
    op.drop_index("ix_agent_mail_prefs_inbox_email", table_name="agent_mail_prefs")
    op.drop_table("agent_mail_prefs")
