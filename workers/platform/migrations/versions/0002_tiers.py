"""Tiered Service scoring: per-member results per period and one run record per period.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``tier_results`` and ``tier_runs``."""
    op.create_table(
        "tier_results",
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("member_id", sa.String(12), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("household_total", sa.Integer(), nullable=True),
        sa.Column("level_code", sa.String(3), nullable=False),
        sa.Column("level_name", sa.String(80), nullable=False),
        sa.Column("previous_level_code", sa.String(3), nullable=True),
        sa.Column("atm_service_charge_code", sa.Integer(), nullable=True),
        sa.Column("points_by_goal", JSONB(), nullable=False),
        sa.Column("points_by_item", JSONB(), nullable=False),
        sa.Column("possible_by_goal", JSONB(), nullable=False),
        # Hash of the stored values: a re-run compares 8 bytes per member, not every column.
        sa.Column("result_hash", sa.BigInteger(), nullable=False),
        # NULL until the level-change event went out (or when none is due).
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "scored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("period", "member_id", name="pk_tier_results"),
    )
    op.create_table(
        "tier_runs",
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", JSONB(), nullable=True),
        sa.PrimaryKeyConstraint("period", name="pk_tier_runs"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("tier_runs")
    op.drop_table("tier_results")
