"""Follow-up assignments from other systems (``followup-assignments.v1``) on real servers."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from contracts.assignments.messages import FOLLOWUP_ASSIGNED
from tests.integration.conftest import RunningApp
from tests.kafka_helpers import consume, encoded, produce
from workers.platform import employees
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


ASSIGNEE = "XTDESK"
"""The assignee of this module's follow-ups: never JD, whose follow-ups the e2e story (same
database) expects to be its own."""


async def add_assignee(app: RunningApp) -> None:
    """Make sure the assignee is a known employee (the bridge checks it)."""
    await employees.add_employee(
        app.services.session_factory, ASSIGNEE, "Xtension desk", "employee"
    )


def assignment_event(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "assignment_id": f"asg-{uuid.uuid4().hex[:10]}",
        "member_id": "909090",
        "account_suffix": "000",
        "tracker_type": "XX",
        "memo_type": "PP",
        "note": "Member promised to pay $120 on Friday.",
        "assignee_employee_id": ASSIGNEE,
        "assigned_by": "XTENSION",
        "follow_up_on": (date.today() + timedelta(days=5)).isoformat(),
    }
    data.update(overrides)
    return {
        "specversion": "1.0",
        "id": f"evt-{data['assignment_id']}",
        "source": "/partners/xtension",
        "type": FOLLOWUP_ASSIGNED,
        "time": "2026-11-20T10:00:00Z",
        "datacontenttype": "application/json",
        "subject": data["member_id"],
        "data": data,
    }


async def test_assignment_writes_a_conversation_and_notifies_the_assignee(app: RunningApp) -> None:
    await add_assignee(app)
    event = assignment_event()
    await produce(app.bootstrap, app.topics.followup_assignments, [(b"909090", encoded(event))] * 2)
    notices = await consume(app.bootstrap, app.topics.employee_notifications, 1)
    notice = notices[0].json()
    assert notice["type"] == "cu.employee.followup-assigned.v1"
    assert notice["data"]["employee_id"] == ASSIGNEE
    assert notice["data"]["assigned_by"] == "XTENSION"

    sessions = app.services.session_factory
    today = date.today()
    member_trackers = await trackers.member_trackers(sessions, "909090", today=today)
    assert [t.tracker_type for t in member_trackers] == ["XX"]
    conversations = member_trackers[0].conversations
    assert len(conversations) == 1  # the record arrived twice, it was written once
    assert conversations[0].memo_type == "PP"
    assert conversations[0].employee_id == "XTENSION"
    open_ones = await followups.list_follow_ups(
        sessions, assignee=ASSIGNEE, member_id="909090", today=today
    )
    assert [f.id for f in open_ones] == [notice["data"]["follow_up_id"]]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"memo_type": "PC"}, "memo type PC does not belong to Tracker type XX"),
        ({"tracker_type": "QQ"}, "Tracker type QQ is not configured"),
        ({"assignee_employee_id": "NOBODY"}, "NOBODY is not a known employee"),
        ({"tracker_type": "ST", "memo_type": "SL"}, "needs a Need Group and a Task"),
        (
            {"tracker_type": "ST", "memo_type": "SL", "need_group": "BORROW", "task": "CERT"},
            "task CERT belongs to Need Group SAVE, not BORROW",
        ),
        ({"follow_up_on": "someday"}, "data.follow_up_on"),
        # Values the store or the follow-up's deadline arithmetic would refuse only later,
        # inside activities retried for ever.
        ({"need_group": "N" * 17}, "data.need_group: String should have at most 16 characters"),
        ({"task": "T" * 17}, "data.task: String should have at most 16 characters"),
        ({"note": "Promised\x00 to pay"}, "data.note: Value error, must not contain NUL"),
        ({"follow_up_on": "9999-12-31"}, "data.follow_up_on: Value error, must be between"),
    ],
)
async def test_invalid_assignments_are_dead_lettered(
    app: RunningApp, overrides: dict[str, Any], reason: str
) -> None:
    await add_assignee(app)
    bad = assignment_event(**overrides)
    good = assignment_event(member_id="909091")
    topic = app.topics.followup_assignments
    await produce(app.bootstrap, topic, [(b"k", encoded(bad)), (b"k", encoded(good))])
    dead = await consume(app.bootstrap, app.topics.dlq(topic), 1)
    assert reason in dead[0].headers["x-error"]
    assert dead[0].value == encoded(bad)
    # The good record behind the bad one went all the way: its assignee was notified. (Waiting
    # for that also keeps its workflow from notifying on a later test's topics: every app in
    # the session shares one task queue.)
    notices = await consume(app.bootstrap, app.topics.employee_notifications, 1)
    assert notices, "the good record behind the bad one was not processed"
    assert notices[0].json()["data"]["member_id"] == "909091"
