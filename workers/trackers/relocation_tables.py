"""Tables recording Tracker consolidations and copies (migration 0009).

All three only grow: a trigger refuses UPDATE, TRUNCATE and a DELETE aimed at them. The one
DELETE let through is the cascade from a conversation removed by the controlled purge, so a
purged note takes its relocation and copy records with it. Tracker ids here are no foreign keys:
the Tracker a consolidation emptied is gone by design.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workers.platform.database import Base, _now


class ConsolidationRow(Base):
    """One consolidation: which Tracker was emptied into which, by whom, when."""

    __tablename__ = "tracker_consolidations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(12), index=True)
    tracker_type: Mapped[str] = mapped_column(String(2))
    from_tracker_id: Mapped[str] = mapped_column(String(36))
    to_tracker_id: Mapped[str] = mapped_column(String(36))
    moved: Mapped[int] = mapped_column(Integer)
    consolidated_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = _now()


class RelocationRow(Base):
    """One conversation moved by a consolidation (its text, time and author untouched)."""

    __tablename__ = "conversation_relocations"
    __table_args__ = (
        UniqueConstraint("consolidation_id", "conversation_id"),
        Index("ix_conversation_relocations_conversation_id", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    from_tracker_id: Mapped[str] = mapped_column(String(36))
    to_tracker_id: Mapped[str] = mapped_column(String(36))
    consolidation_id: Mapped[str] = mapped_column(
        # The conventional name would pass PostgreSQL's 63 characters.
        ForeignKey("tracker_consolidations.id", name="fk_conversation_relocations_consolidation_id")
    )
    relocated_by: Mapped[str] = mapped_column(String(32))
    relocated_at: Mapped[datetime] = _now()


class CopyRow(Base):
    """A conversation written as a copy of another membership's conversation."""

    __tablename__ = "conversation_copies"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    source_conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    copy_id: Mapped[str] = mapped_column(String(36), index=True)
    copied_by: Mapped[str] = mapped_column(String(32))
    copied_at: Mapped[datetime] = _now()
