"""``/reports``: supervisory figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from contracts.platform.permissions import Action, Relation
from workers.platform.web.access import authorize
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import OpsDep, SessionsDep, TodayDep
from workers.platform.web.schemas import Items
from workers.trackers import reports

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/follow-ups", response_model=Items, summary="Follow-up figures per employee")
async def follow_up_report(
    sessions: SessionsDep,
    ops: OpsDep,
    today: TodayDep,
    caller: CurrentEmployee,
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
) -> Items:
    """Per employee: outstanding, overdue, completed and mean days to complete."""
    authorize(caller, Action.READ_REPORT, (Relation.ANY,))
    if date_to < date_from:
        raise HTTPException(422, detail="'to' must not be before 'from'")
    rows = await reports.follow_up_report(
        sessions, date_from, date_to, today=today, time_zone=ops.time_zone
    )
    return Items(items=[r.model_dump(mode="json") for r in rows])
