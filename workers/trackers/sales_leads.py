"""Sales leads: outstanding follow-ups on Tracker types flagged ``sales_display``.

The lead list (``GET /sales-leads``) reads follow-ups with their conversation and Tracker in one
query, filtered and paged in PostgreSQL (keyset on due date, creation time and id, so a lead
completed while paging never shifts a page). Each lead carries the Need Group and Task of its
conversation, described from the operations file. Recording an outcome goes through the
follow-up's own completion (``FollowUpWorkflow.complete``); :func:`check_lead_type` is the rule
both the API and the completing activity refuse a non-lead with.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pydantic import BaseModel, Field
from sqlalchemy import Row, Select, select, tuple_

from contracts.platform.operations import OpsConfig
from contracts.trackers.sales_leads import SalesOutcome
from contracts.vocabulary import FollowUpState, FollowUpStatus
from workers.platform.database import Sessions
from workers.platform.errors import ConflictError
from workers.trackers.rows import follow_up_status
from workers.trackers.tables import ConversationRow, FollowUpRow, TrackerRow


class BadLeadCursorError(ValueError):
    """The cursor was not one this API handed out."""


class LeadNeedGroup(BaseModel):
    """The lead's Need Group, as the operations file describes it."""

    code: str
    description: str | None
    """None when the code is no longer configured."""


class LeadTask(BaseModel):
    """The lead's Task, as the operations file describes it."""

    code: str
    description: str | None
    """None when the code is no longer configured."""
    next_suggested_product: bool = False


class SalesLead(BaseModel):
    """HTTP answer: one sales lead (an open or completed follow-up on a sales Tracker type)."""

    follow_up_id: str
    member_id: str
    tracker_id: str
    tracker_type: str
    conversation_id: str
    need_group: LeadNeedGroup | None
    task: LeadTask | None
    due_on: date
    status: FollowUpStatus
    assignee_employee_id: str
    assigned_by: str
    text: str = Field(repr=False)
    """The conversation the follow-up hangs off (the member's Tracker note)."""
    outcome: SalesOutcome | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None


@dataclass(frozen=True)
class LeadFilter:
    """Which open leads to list; None means no filter on that field."""

    assignee: str | None = None
    task: str | None = None
    due_by: date | None = None
    """Due on or before this date."""
    overdue: bool = False
    """Only leads due before the credit union's local today."""


def lead_types(ops: OpsConfig) -> list[str]:
    """The Tracker types whose follow-ups are sales leads (``sales_display``)."""
    return [t.code for t in ops.tracker_types if t.sales_display]


def check_lead_type(ops: OpsConfig, follow_up_id: str, tracker_type: str) -> None:
    """Refuse (Conflict) an outcome for a follow-up that is not a sales lead."""
    if tracker_type not in lead_types(ops):
        raise ConflictError(
            f"follow-up {follow_up_id} is not a sales lead: Tracker type {tracker_type} "
            "is not shown in sales leads (sales_display)"
        )


def encode_lead_cursor(due_on: date, created_at: datetime, follow_up_id: str) -> str:
    """The opaque cursor after one lead."""
    raw = f"{due_on.isoformat()}|{created_at.isoformat()}|{follow_up_id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_lead_cursor(cursor: str) -> tuple[date, datetime, str]:
    """The ``(due_on, created_at, id)`` of a cursor.

    Raises:
        BadLeadCursorError: Not a cursor this API made.
    """
    try:
        due, at, follow_up_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or not 1 <= len(follow_up_id) <= 64:
            raise ValueError("not ours")
        return date.fromisoformat(due), when.astimezone(UTC), follow_up_id
    except (ValueError, binascii.Error, UnicodeError, OverflowError):
        raise BadLeadCursorError("cursor is not one this API handed out") from None


LeadRow = Row[FollowUpRow, str, str, str | None, str | None, str]
"""A follow-up with its conversation's Tracker id and type, Need Group, Task and text."""


def _query() -> Select[FollowUpRow, str, str, str | None, str | None, str]:
    # The Tracker through the conversation: where the note is now (a consolidation moves it).
    return (
        select(
            FollowUpRow,
            ConversationRow.tracker_id,
            TrackerRow.tracker_type,
            ConversationRow.need_group,
            ConversationRow.task,
            ConversationRow.text,
        )
        .join(ConversationRow, ConversationRow.id == FollowUpRow.conversation_id)
        .join(TrackerRow, TrackerRow.id == ConversationRow.tracker_id)
    )


def _lead(ops: OpsConfig, found: LeadRow, today: date) -> SalesLead:
    row, tracker_id, tracker_type, need_group, task, text = found
    group = next((g for g in ops.need_groups if g.code == need_group), None)
    configured = next((t for t in ops.tasks if t.code == task), None)
    return SalesLead(
        follow_up_id=row.id,
        member_id=row.member_id,
        tracker_id=tracker_id,
        tracker_type=tracker_type,
        conversation_id=row.conversation_id,
        need_group=None
        if need_group is None
        else LeadNeedGroup(code=need_group, description=group.description if group else None),
        task=None
        if task is None
        else LeadTask(
            code=task,
            description=configured.description if configured else None,
            next_suggested_product=configured.next_suggested_product if configured else False,
        ),
        due_on=row.due_on,
        status=follow_up_status(row, today),
        assignee_employee_id=row.assignee_employee_id,
        assigned_by=row.assigned_by,
        text=text,
        outcome=SalesOutcome(row.outcome) if row.outcome else None,
        completed_at=row.completed_at,
        completed_by=row.completed_by,
    )


async def list_leads(
    sessions: Sessions,
    ops: OpsConfig,
    *,
    where: LeadFilter,
    today: date,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[SalesLead], str | None]:
    """One page of open sales leads, earliest due first, and the cursor of the next page.

    Args:
        sessions: Session factory.
        ops: The Tracker types (``sales_display``), Need Groups and Tasks.
        where: The filters.
        today: The credit union's local date: what overdue is judged against.
        limit: At most this many leads.
        cursor: Where the previous page ended (``next_cursor`` of its answer).

    Raises:
        BadLeadCursorError: A cursor this API did not hand out.
    """
    f = FollowUpRow
    query = _query().where(
        TrackerRow.tracker_type.in_(lead_types(ops)), f.status == FollowUpState.OUTSTANDING.value
    )
    if where.assignee is not None:
        query = query.where(f.assignee_employee_id == where.assignee)
    if where.task is not None:
        query = query.where(ConversationRow.task == where.task)
    if where.due_by is not None:
        query = query.where(f.due_on <= where.due_by)
    if where.overdue:
        query = query.where(f.due_on < today)
    if cursor is not None:
        query = query.where(tuple_(f.due_on, f.created_at, f.id) > decode_lead_cursor(cursor))
    # One more than asked: whether there is a next page, without counting.
    query = query.order_by(f.due_on, f.created_at, f.id).limit(limit + 1)
    async with sessions() as session:
        found = (await session.execute(query)).all()
    leads = [_lead(ops, row, today) for row in found[:limit]]
    next_cursor = None
    if len(found) > limit:
        last = found[limit - 1][0]
        next_cursor = encode_lead_cursor(last.due_on, last.created_at, last.id)
    return leads, next_cursor


async def get_lead(
    sessions: Sessions, ops: OpsConfig, follow_up_id: str, *, today: date
) -> SalesLead | None:
    """One follow-up in the shape of a lead (whatever its Tracker type or status), or None."""
    async with sessions() as session:
        found = (await session.execute(_query().where(FollowUpRow.id == follow_up_id))).first()
    return None if found is None else _lead(ops, found, today)
