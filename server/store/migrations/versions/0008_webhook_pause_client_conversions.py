"""Webhook endpoints pause after repeated failures (with the reason shown to admins), and
conversions remember whether the widget reported them (client-reported, untrusted).

Conversions recorded before this revision are kept as trusted: which of them the widget
reported was not stored.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column("failures", sa.Integer, nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("paused_ts", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("paused_reason", sa.String(500), nullable=True))
    with op.batch_alter_table("conversions") as batch:
        batch.add_column(
            sa.Column(
                "client_reported", sa.Boolean, nullable=False, server_default=sa.text("false")
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("conversions") as batch:
        batch.drop_column("client_reported")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("paused_reason")
        batch.drop_column("paused_ts")
        batch.drop_column("failures")
