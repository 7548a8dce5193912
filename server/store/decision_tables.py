"""The decisions-over-time table: each change in a visitor's outcome for a rule
(`invitations/decisions.py`), written in batches by `server/store/decisions.py`. Kept
with the visit log's retention; erased and exported with the visitor's records."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
)

from server.store.tables import metadata

decision_changes = Table(
    "decision_changes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(32), nullable=False),
    Column("rule_id", String(64), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("detail", String(64), nullable=True),  # a gate code, a condition's path, a rule
    Column("variant_id", String(64), nullable=True),
    Column("invitation_id", String(32), nullable=True),  # the invitation's life
    Column("stage", SmallInteger, nullable=False),  # invitations.decisions.stage
    Column("sampled", Boolean, nullable=False),  # admitted by the site's sample
    Index(None, "site_id", "rule_id", "ts"),
    Index(None, "site_id", "visitor_id", "ts"),
    Index(None, "site_id", "ts"),
)
