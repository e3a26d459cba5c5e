"""Declarative tables of the Tracker store.

The schema itself is created by the Alembic migrations in ``migrations/versions``; a test checks
that they and these classes agree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from workers.platform.database import Base, _now

# The tier tables live in their own module; importing it here registers them on Base.metadata
# so migrations and model checks see the whole schema.


class ContactRequestRow(Base):
    """Database table: the Contact Us queue's read model (the workflow owns the truth).

    Holds what the desk lists and filters on; the store answers with ``ContactRequestDetail``
    validated from these rows.
    """

    __tablename__ = "contact_requests"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'claimed', 'replied', 'deleted')", name="state"),
        Index("ix_contact_requests_state_submitted", "state", "submitted_at"),
    )

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(12), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(16))
    callback_phone: Mapped[str | None] = mapped_column(String(16))
    callback_method: Mapped[str | None] = mapped_column(String(8))
    in_reply_to: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), server_default="queued")
    claimed_by: Mapped[str | None] = mapped_column(String(16))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = _now()


class SecureMessageRow(Base):
    """A reply delivered to the member's secure message centre."""

    __tablename__ = "secure_messages"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(12), index=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    sent_by_employee_id: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
