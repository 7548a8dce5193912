"""Decisions over time: each change in a visitor's outcome for a rule.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "site_id", sa.String(32), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("visitor_id", sa.String(32), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(64), nullable=True),
        sa.Column("variant_id", sa.String(64), nullable=True),
        sa.Column("invitation_id", sa.String(32), nullable=True),
        sa.Column("stage", sa.SmallInteger, nullable=False),
        sa.Column("sampled", sa.Boolean, nullable=False),
    )
    op.create_index(
        "ix_decision_changes_site_id_rule_id_ts", "decision_changes", ["site_id", "rule_id", "ts"]
    )
    op.create_index(
        "ix_decision_changes_site_id_visitor_id_ts",
        "decision_changes",
        ["site_id", "visitor_id", "ts"],
    )
    op.create_index("ix_decision_changes_site_id_ts", "decision_changes", ["site_id", "ts"])


def downgrade() -> None:
    op.drop_index("ix_decision_changes_site_id_ts", table_name="decision_changes")
    op.drop_index("ix_decision_changes_site_id_visitor_id_ts", table_name="decision_changes")
    op.drop_index("ix_decision_changes_site_id_rule_id_ts", table_name="decision_changes")
    op.drop_table("decision_changes")
