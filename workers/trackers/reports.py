"""Supervisory figures over follow-ups: outstanding, overdue and completed, per employee."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, cast, extract, func, or_, select
from sqlalchemy.types import Date

from contracts.vocabulary import FollowUpState
from workers.platform.database import Sessions
from workers.platform.employees import EmployeeRow
from workers.platform.errors import InvalidInputError
from workers.trackers.records import FollowUpReportRow
from workers.trackers.tables import FollowUpRow


async def follow_up_report(
    sessions: Sessions, start: date, end: date, *, today: date, time_zone: str
) -> list[FollowUpReportRow]:
    """Follow-up figures per employee for the period ``start``..``end`` (inclusive).

    - ``outstanding``: not completed and due in the period (overdue ones included);
    - ``overdue``: of those, due before ``today``;
    - ``completed``: completed in the period (the local date of completion);
    - ``mean_days_to_complete``: over those completed, mean days from opening to completion,
      rounded to two decimals (None when none were completed);
    - ``median_days_to_complete``: the same, median (``percentile_cont(0.5)``).

    Every employee is listed, figures of zero included, by employee id.

    Args:
        sessions: Session factory.
        start: First day of the period.
        end: Last day of the period.
        today: The credit union's local date: what overdue is judged against.
        time_zone: The credit union's IANA time zone: completions count on its local date.

    Returns:
        One row per employee.

    Raises:
        InvalidInputError: ``start`` after ``end``.
    """
    if start > end:
        raise InvalidInputError(f"report period starts ({start}) after it ends ({end})")
    f = FollowUpRow
    open_in_period = and_(
        f.status == FollowUpState.OUTSTANDING.value, f.due_on >= start, f.due_on <= end
    )
    # The day a follow-up was completed is the credit union's day, as "today" is.
    completed_on = cast(func.timezone(time_zone, f.completed_at), Date)
    done_in_period = and_(
        f.status == FollowUpState.COMPLETED.value, completed_on >= start, completed_on <= end
    )
    seconds = extract("epoch", f.completed_at - f.created_at)
    # Only rows that can count are read (by the due_on and completed_at indexes): a local day
    # lies within a day either side of the same UTC day in any time zone.
    near = and_(
        f.completed_at >= datetime.combine(start - timedelta(days=1), time(), UTC),
        f.completed_at < datetime.combine(end + timedelta(days=2), time(), UTC),
    )
    figures = (
        select(
            f.assignee_employee_id.label("employee_id"),
            func.count().filter(open_in_period).label("outstanding"),
            func.count().filter(open_in_period, f.due_on < today).label("overdue"),
            func.count().filter(done_in_period).label("completed"),
            func.avg(case((done_in_period, seconds))).label("mean_seconds"),
            # percentile_cont skips NULLs, as avg does: only the period's completions count.
            func.percentile_cont(0.5)
            .within_group(case((done_in_period, seconds)))
            .label("median_seconds"),
        )
        .where(or_(open_in_period, and_(f.status == FollowUpState.COMPLETED.value, near)))
        .group_by(f.assignee_employee_id)
        .subquery()
    )
    query = (
        select(EmployeeRow.id, EmployeeRow.name, figures)
        .outerjoin(figures, figures.c.employee_id == EmployeeRow.id)
        .order_by(EmployeeRow.id)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [
        FollowUpReportRow(
            employee_id=row["id"],
            name=row["name"],
            outstanding=row["outstanding"] or 0,
            overdue=row["overdue"] or 0,
            completed=row["completed"] or 0,
            mean_days_to_complete=_days(row["mean_seconds"]),
            median_days_to_complete=_days(row["median_seconds"]),
        )
        for row in rows
    ]


def _days(seconds: object) -> float | None:
    """Seconds (a numeric from PostgreSQL, or NULL) as days rounded to two decimals."""
    return round(float(str(seconds)) / 86400, 2) if seconds is not None else None
