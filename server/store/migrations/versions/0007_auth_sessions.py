"""Sessions a user can list and end, API tokens that can expire, and sign-in limits moved
to the Broker.

- `sessions` gets a public `id` (the primary key stays the cookie's sha256, which is
  never shown), `last_used_ts`, and the client address and user agent it was opened
  from; an index on `user_id` serves "my sessions" and "sign out everywhere".
- `api_tokens` gets `expires_ts` (null = never) and an index on `user_id`.
- `login_failures` is dropped: the limiter is an atomic script on the Broker
  (server/broker/lua/login_attempt.lua), which concurrent attempts cannot get past.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("id", sa.String(32), nullable=True))
    op.add_column("sessions", sa.Column("last_used_ts", sa.BigInteger, nullable=True))
    op.add_column("sessions", sa.Column("ip", sa.String(64), nullable=True))
    op.add_column("sessions", sa.Column("user_agent", sa.String(300), nullable=True))
    # Sessions opened before this revision get an id derived from their hash's prefix.
    op.execute("UPDATE sessions SET id = 'se_' || substr(token_hash, 1, 16) WHERE id IS NULL")
    op.create_index("ix_sessions_id", "sessions", ["id"], unique=True)
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.add_column("api_tokens", sa.Column("expires_ts", sa.BigInteger, nullable=True))
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.drop_index("ix_login_failures_subject_ts", "login_failures")
    op.drop_table("login_failures")


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_login_failures_subject_ts", "login_failures", ["subject", "ts"])
    op.drop_index("ix_api_tokens_user_id", "api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_ts")
    op.drop_index("ix_sessions_user_id", "sessions")
    op.drop_index("ix_sessions_id", "sessions")
    with op.batch_alter_table("sessions") as batch:
        for column in ("user_agent", "ip", "last_used_ts", "id"):
            batch.drop_column(column)
