"""Sales-lead outcomes on follow-ups.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OUTCOMES = ("contacted", "processed", "not_interested")
"""``contracts.trackers.sales_leads.SalesOutcome`` as of this revision (a migration never
imports live code)."""
_CHECK = "ck_follow_ups_outcome"


def upgrade() -> None:
    """The outcome a sales lead was completed with (``POST /sales-leads/{id}/outcome``): one of
    the outcomes, and only on a completed follow-up; NULL for every other follow-up."""
    op.add_column("follow_ups", sa.Column("outcome", sa.String(16), nullable=True))
    listed = ", ".join(f"'{outcome}'" for outcome in OUTCOMES)
    op.create_check_constraint(
        op.f(_CHECK),
        "follow_ups",
        f"outcome IS NULL OR (status = 'completed' AND outcome IN ({listed}))",
    )


def downgrade() -> None:
    """Drop the outcomes (the follow-ups stay completed; their closing notes still name them)."""
    op.drop_constraint(op.f(_CHECK), "follow_ups", type_="check")
    op.drop_column("follow_ups", "outcome")
