"""The audit log (who changed what, from where) and visitor bans.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("actor_id", sa.String(32), nullable=True),
        sa.Column("actor_email", sa.String(254), nullable=True),
        sa.Column("actor_role", sa.String(16), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("site_id", sa.String(32), nullable=True),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
    )
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])
    op.create_index("ix_audit_log_site_id_ts", "audit_log", ["site_id", "ts"])
    op.create_index("ix_audit_log_actor_id_ts", "audit_log", ["actor_id", "ts"])
    op.create_table(
        "visitor_bans",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id",
            sa.String(32),
            sa.ForeignKey("sites.id", ondelete="CASCADE", name="fk_visitor_bans_site_id_sites"),
            nullable=False,
        ),
        sa.Column("visitor_id", sa.String(32), nullable=True),
        sa.Column("network", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("expires_ts", sa.BigInteger, nullable=True),
        sa.Column("lifted_ts", sa.BigInteger, nullable=True),
        sa.Column("lifted_by", sa.String(32), nullable=True),
    )
    op.create_index("ix_visitor_bans_site_id_lifted_ts", "visitor_bans", ["site_id", "lifted_ts"])


def downgrade() -> None:
    op.drop_index("ix_visitor_bans_site_id_lifted_ts", "visitor_bans")
    op.drop_table("visitor_bans")
    op.drop_index("ix_audit_log_actor_id_ts", "audit_log")
    op.drop_index("ix_audit_log_site_id_ts", "audit_log")
    op.drop_index("ix_audit_log_ts", "audit_log")
    op.drop_table("audit_log")
