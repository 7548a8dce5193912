"""Invitations live: rules with versions, invitations with their lifecycle, conversions.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("updated_ts", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    op.create_index("ix_rules_site_id", "rules", ["site_id"])
    op.create_table(
        "rule_versions",
        sa.Column(
            "rule_id",
            sa.String(32),
            sa.ForeignKey("rules.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(32), nullable=True),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("visitor_id", sa.String(32), nullable=False),
        sa.Column("rule_id", sa.String(32), nullable=True),
        sa.Column("rule_version", sa.Integer, nullable=True),
        sa.Column("variant_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("agent_id", sa.String(32), nullable=True),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("shown_ts", sa.BigInteger, nullable=True),
        sa.Column("answered_ts", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_invitations_site_id_created_ts", "invitations", ["site_id", "created_ts"])
    op.create_index("ix_invitations_rule_id_created_ts", "invitations", ["rule_id", "created_ts"])
    op.create_index("ix_invitations_visitor_id", "invitations", ["visitor_id"])
    op.create_table(
        "conversions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("visitor_id", sa.String(32), nullable=True),
        sa.Column("user_id", sa.String(200), nullable=True),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("order_id", sa.String(200), nullable=True),
        sa.Column("invitation_id", sa.String(32), nullable=True),
        sa.Column("rule_id", sa.String(32), nullable=True),
        sa.Column("rule_version", sa.Integer, nullable=True),
        sa.Column("variant_id", sa.String(64), nullable=True),
        sa.Column("held_out", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.UniqueConstraint("site_id", "order_id", name="uq_conversions_site_id_order_id"),
    )
    op.create_index("ix_conversions_site_id_ts", "conversions", ["site_id", "ts"])
    op.create_index("ix_conversions_rule_id_ts", "conversions", ["rule_id", "ts"])


def downgrade() -> None:
    for table in ("conversions", "invitations", "rule_versions", "rules"):
        op.drop_table(table)
