"""``/audit``: the access trail, for supervisors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from contracts.platform.permissions import Action, Relation
from contracts.vocabulary import (
    EARLIEST_DUE_DATE,
    LATEST_DUE_DATE,
    MEMBER_ID_PATTERN,
    Between,
    EmployeeId,
)
from workers.platform.audit import AuditAction, AuditEvent, list_events
from workers.platform.web.access import authorize
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import SessionsDep
from workers.platform.web.trail import AccessTrail, audited

router = APIRouter(prefix="/audit", tags=["audit"])

PAGE_MAX = 500
"""Most rows one page holds."""

Moment = Annotated[datetime, Between(EARLIEST_DUE_DATE, LATEST_DUE_DATE)]
"""A ``from``/``to`` bound: years 2000-2099, far from the calendar's ends, where converting a
moment to UTC could overflow."""


class AuditPage(BaseModel):
    """One page of the trail, newest first; ``next_cursor`` fetches the next (older) page."""

    items: list[AuditEvent]
    next_cursor: str | None = None


def as_utc(moment: datetime | None) -> datetime | None:
    """A moment with its offset; one written without an offset is taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("", response_model=AuditPage, summary="The access trail (supervisors)")
async def audit_trail(
    sessions: SessionsDep,
    caller: CurrentEmployee,
    # Recorded without a member: the trail holds no member data, and a member's trail lists
    # who touched their data, not who looked at the list.
    _trail: Annotated[AccessTrail, audited(AuditAction.AUDIT_READ)],
    member_id: Annotated[
        str | None, Query(pattern=MEMBER_ID_PATTERN, description="1-12 digits")
    ] = None,
    employee_id: Annotated[EmployeeId | None, Query(description="employee id")] = None,
    date_from: Annotated[
        Moment | None, Query(alias="from", description="ISO 8601; without an offset, UTC")
    ] = None,
    date_to: Annotated[
        Moment | None, Query(alias="to", description="ISO 8601; without an offset, UTC")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,18}$", description="next_cursor of the last page")
    ] = None,
) -> AuditPage:
    """Who read or changed what, newest first, filtered by member, employee and time."""
    authorize(caller, Action.READ_AUDIT, (Relation.ANY,))
    since, until = as_utc(date_from), as_utc(date_to)
    if since is not None and until is not None and until < since:
        raise HTTPException(422, detail="'to' must not be before 'from'")
    items = await list_events(
        sessions,
        member_id=member_id,
        employee_id=employee_id,
        since=since,
        until=until,
        before_id=int(cursor) if cursor is not None else None,
        limit=limit,
    )
    next_cursor = str(items[-1].id) if len(items) == limit else None
    return AuditPage(items=items, next_cursor=next_cursor)
