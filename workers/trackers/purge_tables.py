"""Tables of Tracker purges (migration 0007): each purge run and the conversations it verified.

``tracker_purge_items`` holds ids only and has no foreign key to ``conversations``: its rows are
the record of what a confirmed purge deleted. Deleting goes only through the database function
``memberflow_purge_conversations`` (docs/security.md, "The one delete path").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from workers.platform.database import Base, _now


class TrackerPurgeRow(Base):
    """One purge run: its criteria, the types it may touch, its report and its stage."""

    __tablename__ = "tracker_purges"
    __table_args__ = (
        CheckConstraint("state IN ('verified', 'confirmed')", name="state"),
        CheckConstraint("origin IN ('manual', 'retention')", name="origin"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONB)
    purge_types: Mapped[list[str]] = mapped_column(ARRAY(String(2)))
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(16))
    verified_by: Mapped[str] = mapped_column(String(32))
    verified_at: Mapped[datetime] = _now()
    confirmed_by: Mapped[str | None] = mapped_column(String(32))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TrackerPurgeItemRow(Base):
    """One conversation a purge's verify stage listed (deleted by its confirm stage)."""

    __tablename__ = "tracker_purge_items"

    purge_id: Mapped[str] = mapped_column(
        ForeignKey("tracker_purges.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
