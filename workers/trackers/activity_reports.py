"""Supervisory figures over Tracker notes: activity per employee, type and memo type, and
cross-sales notes, follow-ups and lead outcomes per employee and task. Counted in PostgreSQL
(GROUP BY), never by fetching rows into Python."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Label, and_, case, exists, func, literal, select, union_all
from sqlalchemy.types import Integer

from contracts.platform.operations import OpsConfig
from contracts.trackers.sales_leads import SalesOutcome
from contracts.vocabulary import FollowUpState
from workers.platform.database import Sessions
from workers.platform.errors import InvalidInputError
from workers.trackers.relocation_tables import CopyRow
from workers.trackers.tables import ConversationRow, FollowUpRow, TrackerRow


class TrackerActivityRow(BaseModel):
    """HTTP answer: notes one employee wrote in one Tracker type and memo type in a period."""

    employee_id: str
    tracker_type: str
    memo_type: str
    conversations: int


class CrossSalesRow(BaseModel):
    """HTTP answer: one employee's cross-sales figures for one need group and task."""

    employee_id: str
    need_group: str
    task: str
    sales_notes: int
    """Notes the employee wrote on sales-type Trackers for this task in the period."""
    follow_ups_opened: int
    """Follow-ups assigned to the employee on such notes, opened in the period."""
    follow_ups_completed: int
    """Of the follow-ups assigned to the employee on such notes, those completed in the period."""
    contacted: int
    """Of those completed, the sales leads completed with outcome ``contacted``."""
    processed: int
    """... with outcome ``processed``."""
    not_interested: int
    """... with outcome ``not_interested``."""


def period_bounds(start: date, end: date, time_zone: str) -> tuple[datetime, datetime]:
    """The instants the local days ``start``..``end`` (inclusive) begin and end at.

    A half-open range on ``created_at`` lets PostgreSQL use its index, where converting every
    row's timestamp to a local date would not.

    Raises:
        InvalidInputError: ``start`` after ``end``.
    """
    if start > end:
        raise InvalidInputError(f"report period starts ({start}) after it ends ({end})")
    zone = ZoneInfo(time_zone)
    return (
        datetime.combine(start, time(), zone),
        datetime.combine(end + timedelta(days=1), time(), zone),
    )


def not_a_copy() -> ColumnElement[bool]:
    """Leaves out copies of another membership's notes: a copy keeps its source's author and
    time, and the note is counted once, where it was written."""
    return ~exists().where(CopyRow.conversation_id == ConversationRow.id)


def sales_types(ops: OpsConfig) -> list[str]:
    """The Tracker types that hold cross-sales work (sales display or need group and task)."""
    return [t.code for t in ops.tracker_types if t.sales_display or t.cross_sales_required]


async def tracker_activity_report(
    sessions: Sessions, start: date, end: date, *, time_zone: str
) -> list[TrackerActivityRow]:
    """Notes written per employee, Tracker type and memo type over ``start``..``end``.

    A note counts on the credit union's local date it was written. Only combinations with at
    least one note are listed, ordered by employee, type and memo type.

    Args:
        sessions: Session factory.
        start: First day of the period.
        end: Last day of the period (inclusive).
        time_zone: The credit union's IANA time zone.

    Raises:
        InvalidInputError: ``start`` after ``end``.
    """
    since, until = period_bounds(start, end, time_zone)
    c, t = ConversationRow, TrackerRow
    query = (
        select(c.employee_id, t.tracker_type, c.memo_type, func.count().label("conversations"))
        .join(t, t.id == c.tracker_id)
        .where(c.created_at >= since, c.created_at < until, not_a_copy())
        .group_by(c.employee_id, t.tracker_type, c.memo_type)
        .order_by(c.employee_id, t.tracker_type, c.memo_type)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [TrackerActivityRow.model_validate(dict(row)) for row in rows]


def _flags(note: int, opened: int, completed: int) -> list[Label[int]]:
    """The 0/1 columns one branch of the cross-sales union adds to the sums (the outcome
    columns 0: only the completed branch counts outcomes, with :func:`_outcomes`)."""
    return [
        literal(note, Integer).label("n"),
        literal(opened, Integer).label("o"),
        literal(completed, Integer).label("d"),
        *(literal(0, Integer).label(outcome.value) for outcome in SalesOutcome),
    ]


def _outcomes() -> list[Label[int]]:
    """Per outcome, 1 when the completed follow-up is a lead completed with it, else 0."""
    return [
        case((FollowUpRow.outcome == outcome.value, 1), else_=0).label(outcome.value)
        for outcome in SalesOutcome
    ]


async def cross_sales_report(
    sessions: Sessions, ops: OpsConfig, start: date, end: date
) -> list[CrossSalesRow]:
    """Cross-sales work per employee, need group and task over ``start``..``end``.

    Counts notes on sales-type Trackers (``sales_types``) that name a need group and task, and
    the follow-ups opened on them (by assignee, opened in the period) and completed (by
    assignee, completed in the period), and of those completed, how many were sales leads
    completed with each outcome (``SalesOutcome``: contacted, processed, not interested).

    Args:
        sessions: Session factory.
        ops: Configuration: the sales types and the time zone.
        start: First day of the period.
        end: Last day of the period (inclusive).

    Raises:
        InvalidInputError: ``start`` after ``end``.
    """
    since, until = period_bounds(start, end, ops.time_zone)
    c, t, f = ConversationRow, TrackerRow, FollowUpRow
    sales = and_(
        t.tracker_type.in_(sales_types(ops)), c.need_group.is_not(None), c.task.is_not(None)
    )
    notes = (
        select(c.employee_id, c.need_group, c.task, *_flags(1, 0, 0))
        .join(t, t.id == c.tracker_id)
        .where(sales, c.created_at >= since, c.created_at < until, not_a_copy())
    )
    on_sales = (
        select(f.assignee_employee_id.label("employee_id"), c.need_group, c.task)
        .select_from(f)
        .join(c, c.id == f.conversation_id)
        .join(t, t.id == c.tracker_id)
    )
    opened = on_sales.add_columns(*_flags(0, 1, 0)).where(
        sales, f.created_at >= since, f.created_at < until
    )
    completed = on_sales.add_columns(*_flags(0, 0, 1)[:3], *_outcomes()).where(
        sales,
        f.status == FollowUpState.COMPLETED.value,
        f.completed_at >= since,
        f.completed_at < until,
    )
    work = union_all(notes, opened, completed).subquery()
    query = (
        select(
            work.c.employee_id,
            work.c.need_group,
            work.c.task,
            func.sum(work.c.n).label("sales_notes"),
            func.sum(work.c.o).label("follow_ups_opened"),
            func.sum(work.c.d).label("follow_ups_completed"),
            *(func.sum(work.c[o.value]).label(o.value) for o in SalesOutcome),
        )
        .group_by(work.c.employee_id, work.c.need_group, work.c.task)
        .order_by(work.c.employee_id, work.c.need_group, work.c.task)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [CrossSalesRow.model_validate(dict(row)) for row in rows]
