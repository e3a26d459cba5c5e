"""Follow-up deadlines: start of day in the credit union's time zone, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.trackers.follow_ups import DeadlineRequest, FollowUpInput
from workers.trackers.activities import deadlines

pytestmark = pytest.mark.unit


def test_start_of_day_in_detroit_winter_and_summer() -> None:
    winter = deadlines(DeadlineRequest(due_on=date(2026, 1, 15), overdue_after_days=1))
    assert winter.due_at == datetime(2026, 1, 15, 5, tzinfo=UTC)
    assert winter.overdue_from == datetime(2026, 1, 16, 5, tzinfo=UTC)
    assert winter.escalate_at == winter.overdue_from

    summer = deadlines(DeadlineRequest(due_on=date(2026, 7, 15), overdue_after_days=3))
    assert summer.due_at == datetime(2026, 7, 15, 4, tzinfo=UTC)
    assert summer.escalate_at == datetime(2026, 7, 18, 4, tzinfo=UTC)


def test_escalation_across_a_dst_change_keeps_local_midnight() -> None:
    # 2026-03-08 is the spring-forward Sunday in the US.
    across = deadlines(DeadlineRequest(due_on=date(2026, 3, 7), overdue_after_days=2))
    assert across.due_at == datetime(2026, 3, 7, 5, tzinfo=UTC)
    assert across.escalate_at == datetime(2026, 3, 9, 4, tzinfo=UTC)


def test_unknown_time_zone_falls_back_to_utc() -> None:
    result = deadlines(
        DeadlineRequest(due_on=date(2026, 1, 15), overdue_after_days=0, time_zone="Mars/Base")
    )
    assert result.due_at == result.escalate_at == datetime(2026, 1, 15, tzinfo=UTC)


def test_summary_is_one_short_line() -> None:
    start = FollowUpInput(
        follow_up_id="f1",
        member_id="1",
        tracker_id="t",
        conversation_id="c",
        assignee_employee_id="E1",
        assigned_by="E2",
        due_on=date(2026, 1, 15),
        summary="x" * 500 + "\nsecond line",
    )
    assert len(start.summary) == 200
    assert start.summary.endswith("...")
