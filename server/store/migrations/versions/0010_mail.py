"""The mail outbox (every email Beckon sends, durable until sent) and the single-use
links of account emails (docs/mail.md).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("site_id", sa.String(32), nullable=True),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("visitor_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("unless_online", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_ts", sa.BigInteger, nullable=False),
        sa.Column("locked_until", sa.BigInteger, nullable=True),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("sent_ts", sa.BigInteger, nullable=True),
    )
    for columns in (
        ("status", "next_attempt_ts"),
        ("visitor_id", "created_ts"),
        ("site_id", "created_ts"),
        ("conversation_id", "created_ts"),
    ):
        op.create_index(f"ix_mail_outbox_{'_'.join(columns)}", "mail_outbox", list(columns))
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("expires_ts", sa.BigInteger, nullable=False),
        sa.Column("used_ts", sa.BigInteger, nullable=True),
    )
    op.create_index(
        "ix_account_tokens_user_id_created_ts", "account_tokens", ["user_id", "created_ts"]
    )


def downgrade() -> None:
    op.drop_table("account_tokens")
    op.drop_table("mail_outbox")
