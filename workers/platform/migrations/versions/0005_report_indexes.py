"""Indexes of the supervisory reports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Notes by the time they were written: the Tracker activity and cross-sales reports read
    one period's notes out of millions (``workers/trackers/activity_reports.py``)."""
    op.create_index("ix_conversations_created_at", "conversations", ["created_at"])
    # The follow-up report: the period's due and completed follow-ups.
    op.create_index("ix_follow_ups_due_on", "follow_ups", ["due_on"])
    op.create_index("ix_follow_ups_completed_at", "follow_ups", ["completed_at"])


def downgrade() -> None:
    """Drop the indexes (the reports still work, by full scans)."""
    op.drop_index("ix_follow_ups_completed_at", table_name="follow_ups")
    op.drop_index("ix_follow_ups_due_on", table_name="follow_ups")
    op.drop_index("ix_conversations_created_at", table_name="conversations")
