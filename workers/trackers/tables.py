"""Declarative tables of the Tracker store.

The schema itself is created by the Alembic migrations in ``migrations/versions``; a test checks
that they and these classes agree."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from contracts.trackers.sales_leads import SalesOutcome
from workers.platform.database import KEY, Base, _now

# The tier tables live in their own module; importing it here registers them on Base.metadata
# so migrations and model checks see the whole schema.


class TrackerRow(Base):
    """One Tracker of a member (base or sub-account) of one Tracker type.

    ``single_type`` holds the type code when the type allows one Tracker per member and is
    NULL otherwise; the unique constraint on (member_id, single_type) backs the rule in the
    database even if the code path that takes the advisory lock were bypassed.
    """

    __tablename__ = "trackers"
    __table_args__ = (
        UniqueConstraint("member_id", "single_type", name="uq_trackers_member_single_type"),
        Index("ix_trackers_member_type", "member_id", "tracker_type"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(12))
    account_suffix: Mapped[str] = mapped_column(String(3))
    tracker_type: Mapped[str] = mapped_column(String(2))
    single_type: Mapped[str | None] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = _now()


class ConversationRow(Base):
    """One note in a Tracker. Append-only: a database trigger refuses UPDATE and DELETE."""

    __tablename__ = "conversations"
    __table_args__ = (
        # Not unique since migration 0009: a consolidated conversation keeps the number it had
        # in the Tracker it was written in. A Tracker lists its conversations by their time.
        Index("ix_conversations_tracker_seq", "tracker_id", "seq"),
        Index("ix_conversations_thread_id", "thread_id"),
        # The reports read one period's notes (migration 0005).
        Index("ix_conversations_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tracker_id: Mapped[str] = mapped_column(ForeignKey("trackers.id"))
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()
    # Not a foreign key: partners (call centres) and "96" (member self-service) write notes too.
    employee_id: Mapped[str] = mapped_column(String(32))
    memo_type: Mapped[str] = mapped_column(String(2))
    need_group: Mapped[str | None] = mapped_column(String(16))
    task: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    thread_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(KEY), unique=True)


class FollowUpRow(Base):
    """A follow-up on one conversation, assigned to an employee. Overdue is derived."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        CheckConstraint("status IN ('outstanding', 'completed')", name="status"),
        # A sales lead's outcome (migration 0006): one of SalesOutcome, set only on completion.
        CheckConstraint(
            "outcome IS NULL OR (status = 'completed' AND outcome IN "
            f"({', '.join(repr(o.value) for o in SalesOutcome)}))",
            name="outcome",
        ),
        Index("ix_follow_ups_assignee_status_due", "assignee_employee_id", "status", "due_on"),
        Index("ix_follow_ups_thread_id", "thread_id"),
        # The follow-up report reads one period's due and completed follow-ups (migration 0005).
        Index("ix_follow_ups_due_on", "due_on"),
        Index("ix_follow_ups_completed_at", "completed_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    member_id: Mapped[str] = mapped_column(String(12), index=True)
    tracker_id: Mapped[str] = mapped_column(ForeignKey("trackers.id"))
    assignee_employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"))
    assigned_by: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), server_default="outstanding")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(String(32))
    completion_key: Mapped[str | None] = mapped_column(String(KEY))
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = _now()
    idempotency_key: Mapped[str] = mapped_column(String(KEY), unique=True)
    parent_follow_up_id: Mapped[str | None] = mapped_column(ForeignKey("follow_ups.id"))
    thread_id: Mapped[str] = mapped_column(String(64))


class FollowUpEventRow(Base):
    """History of a follow-up's reassignments (CU*BASE only shows the current assignee)."""

    __tablename__ = "follow_up_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    follow_up_id: Mapped[str] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = _now()
    from_employee_id: Mapped[str | None] = mapped_column(String(32))
    to_employee_id: Mapped[str | None] = mapped_column(String(32))
    by_employee_id: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(KEY), unique=True)
