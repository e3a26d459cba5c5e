"""Mass Tracker batches and the membership register.

``memberships``: the member numbers the core system knows, with their opening and closing
dates (a sync, ``memberflow members import``). ``mass_tracker_batches`` / ``mass_tracker_members``:
a batch and its member list, each member's outcome marked as its chunk is written.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``memberships``, ``mass_tracker_batches`` and ``mass_tracker_members``."""
    op.create_table(
        "memberships",
        sa.Column("member_id", sa.String(12), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_memberships"),
    )
    op.create_table(
        "mass_tracker_batches",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("tracker_type", sa.String(2), nullable=False),
        sa.Column("memo_type", sa.String(2), nullable=False),
        sa.Column("need_group", sa.String(16), nullable=True),
        sa.Column("task", sa.String(16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("follow_up_employee_id", sa.String(32), nullable=True),
        sa.Column("follow_up_due_on", sa.Date(), nullable=True),
        sa.Column("requested_by", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("members_total", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), server_default="running", nullable=False),
        sa.Column("report", postgresql.JSONB(), nullable=True),
        sa.Column(
            "submitted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", name="pk_mass_tracker_batches"),
        sa.CheckConstraint("mode IN ('leads', 'notes')", name="ck_mass_tracker_batches_mode"),
        sa.CheckConstraint(
            "state IN ('running', 'completed', 'failed')", name="ck_mass_tracker_batches_state"
        ),
    )
    op.create_table(
        "mass_tracker_members",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(12), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("tracker_id", sa.String(36), nullable=True),
        sa.Column("conversation_id", sa.String(36), nullable=True),
        sa.Column("follow_up_id", sa.String(64), nullable=True),
        sa.Column("follow_up_started", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "member_id", name="pk_mass_tracker_members"),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["mass_tracker_batches.batch_id"],
            name="fk_mass_tracker_members_batch_id_mass_tracker_batches",
        ),
        # The workflow walks a batch by seq ranges: this index is that walk.
        sa.UniqueConstraint("batch_id", "seq", name="uq_mass_tracker_members_batch_seq"),
        sa.CheckConstraint(
            "outcome IN ('created', 'appended', 'skipped')", name="ck_mass_tracker_members_outcome"
        ),
    )


def downgrade() -> None:
    """Drop the three tables (batch records and the register sync are lost)."""
    op.drop_table("mass_tracker_members")
    op.drop_table("mass_tracker_batches")
    op.drop_table("memberships")
