"""Tables of mass Tracker batches (migration 0008): the batch and its members.

The member list lives here, not in Temporal: ``MassTrackerWorkflow`` walks it by ``seq``
ranges, and each member's outcome is marked in the same transaction that writes its
conversation, which is what makes a retried chunk write nothing twice. No foreign keys to
``trackers`` / ``conversations``: the purge path may remove those rows, and the batch record
(the report) outlives them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from workers.platform.database import Base, _now


class MassBatchRow(Base):
    """One batch: what it writes, who asked, its state and (once finished) its report."""

    __tablename__ = "mass_tracker_batches"
    __table_args__ = (
        CheckConstraint("mode IN ('leads', 'notes')", name="mode"),
        CheckConstraint("state IN ('running', 'completed', 'failed')", name="state"),
    )

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8))
    tracker_type: Mapped[str] = mapped_column(String(2))
    memo_type: Mapped[str] = mapped_column(String(2))
    need_group: Mapped[str | None] = mapped_column(String(16))
    task: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    follow_up_employee_id: Mapped[str | None] = mapped_column(String(32))
    follow_up_due_on: Mapped[date | None] = mapped_column(Date)
    requested_by: Mapped[str] = mapped_column(String(32))
    as_of: Mapped[date] = mapped_column(Date)
    members_total: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), server_default="running")
    report: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    submitted_at: Mapped[datetime] = _now()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MassMemberRow(Base):
    """One listed member of a batch and, once its chunk ran, what the batch did for it."""

    __tablename__ = "mass_tracker_members"
    __table_args__ = (
        UniqueConstraint("batch_id", "seq", name="uq_mass_tracker_members_batch_seq"),
        CheckConstraint("outcome IN ('created', 'appended', 'skipped')", name="outcome"),
    )

    batch_id: Mapped[str] = mapped_column(
        ForeignKey("mass_tracker_batches.batch_id"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(32))
    tracker_id: Mapped[str | None] = mapped_column(String(36))
    conversation_id: Mapped[str | None] = mapped_column(String(36))
    follow_up_id: Mapped[str | None] = mapped_column(String(64))
    follow_up_started: Mapped[bool] = mapped_column(Boolean, server_default="false")
    written_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
