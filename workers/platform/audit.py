"""The access trail: who read which member's data or changed what, when, from where.

``audit_events`` is append-only: the application only inserts, and a trigger refuses UPDATE,
DELETE and TRUNCATE (migration 0003). A row holds ids, codes and an address only, never a
message, note or phone number, so the trail itself is no second copy of member data.
The desk API writes rows through one dependency (:mod:`workers.platform.web.trail`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    SmallInteger,
    String,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from workers.platform.database import Base, Sessions


class AuditAction(StrEnum):
    """What an audited call did: ``<record>.<verb>``."""

    CONTACT_REQUEST_READ = "contact-request.read"
    CONTACT_REQUEST_CLAIM = "contact-request.claim"
    CONTACT_REQUEST_RELEASE = "contact-request.release"
    CONTACT_REQUEST_REPLY = "contact-request.reply"
    CONTACT_REQUEST_DELETE = "contact-request.delete"
    FOLLOW_UP_READ = "follow-up.read"
    FOLLOW_UP_COMPLETE = "follow-up.complete"
    FOLLOW_UP_REASSIGN = "follow-up.reassign"
    FOLLOW_UP_NOTE = "follow-up.note"
    SALES_LEADS_READ = "sales-leads.read"
    SALES_LEAD_OUTCOME = "sales-lead.outcome"
    MEMBER_TRACKERS_READ = "member.trackers.read"
    MEMBER_TRACKER_NOTE = "member.trackers.note"
    MEMBER_TRACKERS_CONSOLIDATE = "member.trackers.consolidate"
    MEMBER_TRACKERS_COPY = "member.trackers.copy"
    MEMBER_MESSAGES_READ = "member.messages.read"
    MEMBER_TIER_READ = "member.tier.read"
    TIER_RUN_START = "tier-run.start"
    TRACKER_PURGE_VERIFY = "tracker-purge.verify"
    TRACKER_PURGE_CONFIRM = "tracker-purge.confirm"
    AUDIT_READ = "audit.read"
    PAYLOADS_DECODE = "payloads.decode"
    PAYLOADS_ENCODE = "payloads.encode"
    MASS_TRACKERS_START = "mass-trackers.start"
    MASS_TRACKERS_READ = "mass-trackers.read"


class Outcome(StrEnum):
    """How an audited call ended, from its HTTP status."""

    ALLOWED = "allowed"
    DENIED = "denied"
    FAILED = "failed"

    @classmethod
    def of(cls, status: int) -> Outcome:
        """2xx/3xx allowed; 401 and 403 denied; anything else (404, 409, 422, 5xx) failed."""
        if status < 400:
            return cls.ALLOWED
        if status in (401, 403):
            return cls.DENIED
        return cls.FAILED


class AuditEvent(BaseModel):
    """One access: the row as the API and ``memberflow audit`` show it."""

    id: int
    at: datetime
    employee_id: str
    action: str
    member_id: str | None
    record_id: str | None
    status: int
    outcome: Outcome
    client_address: str | None


class AuditEventRow(Base):
    """One row of the access trail (append-only)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(
            f"outcome IN ({', '.join(repr(o.value) for o in Outcome)})", name="outcome"
        ),
        # The API's and the CLI's filters, newest (highest id) first.
        Index("ix_audit_events_member_id", "member_id", "id"),
        Index("ix_audit_events_employee_id", "employee_id", "id"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    employee_id: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[str | None] = mapped_column(String(12))
    record_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    outcome: Mapped[str] = mapped_column(String(8))
    client_address: Mapped[str | None] = mapped_column(String(64))


async def record_event(
    sessions: Sessions,
    *,
    employee_id: str,
    action: AuditAction,
    status: int,
    member_id: str | None = None,
    record_id: str | None = None,
    client_address: str | None = None,
    at: datetime | None = None,
) -> int:
    """Append one row to the trail, in a transaction of its own; returns its id.

    Args:
        sessions: Session factory.
        employee_id: Who acted.
        action: What they did.
        status: The HTTP status they were answered with (the outcome follows from it).
        member_id: Whose data it concerned, when known.
        record_id: The request id, follow-up id or period acted on, when there is one.
        client_address: Where the call came from.
        at: When (default: the database's clock at insert; tests pass fixed moments).
    """
    values: dict[str, object] = {
        "employee_id": employee_id,
        "action": action.value,
        "member_id": member_id,
        "record_id": record_id,
        "status": status,
        "outcome": Outcome.of(status).value,
        # Addresses are at most 45 characters (IPv6); anything longer is not one.
        "client_address": client_address[:64] if client_address else None,
    }
    if at is not None:
        values["at"] = at
    async with sessions.begin() as session:
        new_id = await session.scalar(
            insert(AuditEventRow).values(**values).returning(AuditEventRow.id)
        )
    return int(new_id or 0)


async def list_events(
    sessions: Sessions,
    *,
    member_id: str | None = None,
    employee_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Rows matching every given filter, newest first (by id: the order they were written).

    Args:
        sessions: Session factory.
        member_id: Only this member's.
        employee_id: Only this employee's.
        since: Only rows at or after this moment.
        until: Only rows at or before this moment.
        before_id: Only rows older than this id (the cursor of the previous page).
        limit: At most this many rows.
    """
    stmt = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
    if member_id is not None:
        stmt = stmt.where(AuditEventRow.member_id == member_id)
    if employee_id is not None:
        stmt = stmt.where(AuditEventRow.employee_id == employee_id)
    if since is not None:
        stmt = stmt.where(AuditEventRow.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEventRow.at <= until)
    if before_id is not None:
        stmt = stmt.where(AuditEventRow.id < before_id)
    async with sessions() as session:
        rows = (await session.scalars(stmt)).all()
    return [AuditEvent.model_validate(row, from_attributes=True) for row in rows]
