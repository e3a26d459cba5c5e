""" "Overdue" and "completed on" are judged by the credit union's local date, never UTC's.

At 23:30 in Chicago on a follow-up's due date it is already the next day in UTC; the follow-up
is not overdue until the local day is over, and a completion then counts on the local day.
Every store read is asked with ``today`` from ``workers.platform.clock.local_today``.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.platform.operations import OpsConfig
from contracts.vocabulary import FollowUpFilter, FollowUpStatus
from tests.integration.conftest import new_follow_up
from workers.platform import employees
from workers.platform.clock import local_today
from workers.platform.database import Sessions
from workers.trackers import follow_up_store as followups
from workers.trackers import reports
from workers.trackers import tracker_store as trackers
from workers.trackers.records import FollowUpRecord

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ZONE = "America/Chicago"
DUE = date(2031, 3, 12)  # no other test uses this period, so the report's figures are ours
LATE_EVENING = datetime(2031, 3, 12, 23, 30, tzinfo=ZoneInfo(ZONE))
NEXT_MORNING = datetime(2031, 3, 13, 8, 0, tzinfo=ZoneInfo(ZONE))


@pytest.fixture(scope="module")
def chicago(ops: OpsConfig) -> OpsConfig:
    """The shipped configuration, in Chicago."""
    return ops.model_copy(update={"time_zone": ZONE})


def tag() -> str:
    return f"{random.getrandbits(40):010x}"


async def opened(sessions: Sessions, ops: OpsConfig, employee: str) -> FollowUpRecord:
    """A follow-up due on ``DUE`` for ``employee``, on a new member's Tracker."""
    return await new_follow_up(
        sessions, ops, assignee=employee, due_on=DUE, today=local_today(ops, LATE_EVENING)
    )


async def statuses(
    sessions: Sessions, ops: OpsConfig, follow_up: FollowUpRecord, now: datetime
) -> set[FollowUpStatus]:
    """The follow-up's status as every store read shows it at ``now``; one status expected."""
    today = local_today(ops, now)
    employee = follow_up.assignee_employee_id
    one = await followups.get_follow_up(sessions, follow_up.id, today=today)
    thread = await followups.get_follow_up_with_thread(sessions, follow_up.id, today=today)
    listed = await followups.list_follow_ups(
        sessions, assignee=employee, status=FollowUpFilter.ALL, today=today
    )
    (tracker,) = await trackers.member_trackers(sessions, follow_up.member_id, today=today)
    assert one is not None and thread is not None
    return {
        one.status,
        thread.follow_up.status,
        *(f.status for f in listed),
        *(f.status for c in tracker.conversations for f in c.follow_ups),
    }


async def test_due_today_is_not_overdue_until_the_local_day_ends(
    sessions: Sessions, chicago: OpsConfig
) -> None:
    assert LATE_EVENING.astimezone(UTC).date() > DUE  # the case a UTC date gets wrong
    employee = f"L{tag()[:6]}"
    await employees.add_employee(sessions, employee, "Late Evening", "employee")
    follow_up = await opened(sessions, chicago, employee)

    async def overdue_ids(now: datetime) -> list[str]:
        found = await followups.list_follow_ups(
            sessions,
            assignee=employee,
            status=FollowUpFilter.OVERDUE,
            today=local_today(chicago, now),
        )
        return [f.id for f in found]

    async def report_overdue(now: datetime) -> int:
        rows = await reports.follow_up_report(
            sessions, DUE, DUE, today=local_today(chicago, now), time_zone=chicago.time_zone
        )
        (mine,) = [r for r in rows if r.employee_id == employee]
        assert mine.outstanding == 1
        return mine.overdue

    assert await statuses(sessions, chicago, follow_up, LATE_EVENING) == {
        FollowUpStatus.OUTSTANDING
    }
    assert await overdue_ids(LATE_EVENING) == []
    assert await report_overdue(LATE_EVENING) == 0

    assert await statuses(sessions, chicago, follow_up, NEXT_MORNING) == {FollowUpStatus.OVERDUE}
    assert await overdue_ids(NEXT_MORNING) == [follow_up.id]
    assert await report_overdue(NEXT_MORNING) == 1


async def test_a_completion_counts_on_the_local_day_it_happened(
    sessions: Sessions, chicago: OpsConfig
) -> None:
    employee = f"C{tag()[:6]}"
    await employees.add_employee(sessions, employee, "Closer", "employee")
    follow_up = await opened(sessions, chicago, employee)
    await followups.complete_follow_up(
        sessions,
        follow_up.id,
        by_employee_id=employee,
        idempotency_key=f"local-done-{tag()}",
        at=LATE_EVENING,
        today=local_today(chicago, LATE_EVENING),
    )

    async def completed_on(day: date) -> int:
        rows = await reports.follow_up_report(
            sessions, day, day, today=local_today(chicago, NEXT_MORNING), time_zone=ZONE
        )
        (mine,) = [r for r in rows if r.employee_id == employee]
        return mine.completed

    assert await completed_on(DUE) == 1
    assert await completed_on(DUE + timedelta(days=1)) == 0
