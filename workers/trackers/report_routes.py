"""``/reports``: supervisory figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from contracts.platform.permissions import Action, Relation
from contracts.vocabulary import DueDate
from workers.platform.web.access import authorize
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.csv_answers import CSV_RESPONSE, report_answer
from workers.platform.web.dependencies import OpsDep, SessionsDep, TodayDep
from workers.platform.web.schemas import Items
from workers.trackers import activity_reports, reports
from workers.trackers.records import FollowUpReportRow

router = APIRouter(prefix="/reports", tags=["reports"])

# The period of every report: dates in the span due dates have (2000-2099), from <= to.
FromDate = Annotated[DueDate, Query(alias="from")]
ToDate = Annotated[DueDate, Query(alias="to")]


def _check_period(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise HTTPException(422, detail="'to' must not be before 'from'")


@router.get(
    "/follow-ups",
    response_model=Items,
    responses=CSV_RESPONSE,
    summary="Follow-up figures per employee",
)
async def follow_up_report(
    request: Request,
    sessions: SessionsDep,
    ops: OpsDep,
    today: TodayDep,
    caller: CurrentEmployee,
    date_from: FromDate,
    date_to: ToDate,
) -> Items | Response:
    """Per employee: outstanding, overdue, completed, mean and median days to complete."""
    authorize(caller, Action.READ_REPORT, (Relation.ANY,))
    _check_period(date_from, date_to)
    rows = await reports.follow_up_report(
        sessions, date_from, date_to, today=today, time_zone=ops.time_zone
    )
    return report_answer(request, rows, FollowUpReportRow, "follow-ups")


@router.get(
    "/tracker-activity",
    response_model=Items,
    responses=CSV_RESPONSE,
    summary="Tracker notes per employee, Tracker type and memo type",
)
async def tracker_activity_report(
    request: Request,
    sessions: SessionsDep,
    ops: OpsDep,
    caller: CurrentEmployee,
    date_from: FromDate,
    date_to: ToDate,
) -> Items | Response:
    """Counts of notes written in the period, per employee, Tracker type and memo type."""
    authorize(caller, Action.READ_ACTIVITY_REPORT, (Relation.ANY,))
    _check_period(date_from, date_to)
    rows = await activity_reports.tracker_activity_report(
        sessions, date_from, date_to, time_zone=ops.time_zone
    )
    return report_answer(request, rows, activity_reports.TrackerActivityRow, "tracker-activity")


@router.get(
    "/cross-sales",
    response_model=Items,
    responses=CSV_RESPONSE,
    summary="Cross-sales notes, follow-ups and lead outcomes per employee and task",
)
async def cross_sales_report(
    request: Request,
    sessions: SessionsDep,
    ops: OpsDep,
    caller: CurrentEmployee,
    date_from: FromDate,
    date_to: ToDate,
) -> Items | Response:
    """Per employee, need group and task: sales notes, follow-ups opened and completed, and
    lead outcomes (contacted, processed, not interested)."""
    authorize(caller, Action.READ_CROSS_SALES_REPORT, (Relation.ANY,))
    _check_period(date_from, date_to)
    rows = await activity_reports.cross_sales_report(sessions, ops, date_from, date_to)
    return report_answer(request, rows, activity_reports.CrossSalesRow, "cross-sales")
