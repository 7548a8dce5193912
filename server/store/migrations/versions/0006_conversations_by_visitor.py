"""An index on conversations(visitor_id, created_ts): a returning visitor's hello counts
their conversations (`visitor.chats`) and the console lists them newest first. The only
index on visitor_id was the partial one on open conversations, so both read the whole
table (about 7 ms of PostgreSQL time per hello at 100,000 conversations, growing).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_visitor_id_created_ts", "conversations", ["visitor_id", "created_ts"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_visitor_id_created_ts", "conversations")
