"""``FollowUpActivities`` against a real PostgreSQL: notes, completion, reassignment, the next
follow-up, supervisor look-up, refusals as non-retryable errors, and idempotent retries.

Kafka is replaced by a recording publisher: the event shape is what matters here.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from contracts.platform.events import CloudEvent
from contracts.platform.operations import OpsConfig
from contracts.platform.topics import Topics
from contracts.trackers.follow_ups import (
    CompleteStep,
    EmployeeLookup,
    EmployeeNotice,
    FollowUpNote,
    OpenNextFollowUp,
    ReassignStep,
)
from contracts.trackers.messages import FOLLOWUP_OVERDUE_NOTICE
from tests.integration.conftest import new_follow_up
from workers.platform.database import Sessions
from workers.platform.kafka_client import EventPublisher
from workers.platform.settings import KafkaSettings
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers
from workers.trackers.activities import FollowUpActivities
from workers.trackers.records import FollowUpRecord

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

AT = datetime(2026, 11, 20, 15, tzinfo=UTC)
TODAY = date(2026, 11, 20)


class RecordingPublisher(EventPublisher):
    """Keeps what would have been sent (never connects to Kafka)."""

    def __init__(self) -> None:
        super().__init__(KafkaSettings())
        self.sent: list[tuple[str, str, CloudEvent]] = []

    async def publish(self, topic: str, key: str, event: CloudEvent) -> None:
        self.sent.append((topic, key, event))


def tag() -> str:
    return f"{random.getrandbits(48):012x}"


async def open_one(sessions: Sessions, ops: OpsConfig) -> FollowUpRecord:
    return await new_follow_up(sessions, ops, assignee="SR", due_on=date(2026, 11, 25), today=TODAY)


def note(record: FollowUpRecord, text: str, key: str, memo_type: str | None = None) -> FollowUpNote:
    return FollowUpNote(
        follow_up_id=record.id,
        tracker_id=record.tracker_id,
        conversation_id=record.conversation_id,
        memo_type=memo_type,
        employee_id="SR",
        text=text,
        idempotency_key=key,
        at=AT,
    )


async def test_notice_event_is_deterministic_and_keyed_by_employee(
    sessions: Sessions, ops: OpsConfig
) -> None:
    publisher = RecordingPublisher()
    acts = FollowUpActivities(sessions, publisher, Topics(), ops)
    notice = EmployeeNotice(
        event_id="follow-up-x/overdue/MG",
        notice_type=FOLLOWUP_OVERDUE_NOTICE,
        employee_id="MG",
        follow_up_id="x",
        member_id="123",
        tracker_id="t",
        conversation_id="c",
        due_on=date(2026, 11, 25),
        summary="MS/MS follow-up",
        assigned_by="MG",
        at=AT,
    )
    env = ActivityEnvironment()
    await env.run(acts.notify_follow_up_employee, notice)
    await env.run(acts.notify_follow_up_employee, notice)
    (topic, key, event), (_, _, again) = publisher.sent
    assert (topic, key) == ("employee-notifications.v1", "MG")
    assert event.id == again.id == "follow-up-x/overdue/MG"
    assert (event.type, event.subject, event.data["employee_id"]) == (
        FOLLOWUP_OVERDUE_NOTICE,
        "123",
        "MG",
    )


async def test_store_steps_are_idempotent_and_refusals_are_typed(
    sessions: Sessions, ops: OpsConfig
) -> None:
    acts = FollowUpActivities(sessions, RecordingPublisher(), Topics(), ops)
    env = ActivityEnvironment()
    record = await open_one(sessions, ops)

    assert await env.run(acts.find_supervisor, EmployeeLookup(employee_id="SR")) == "MG"
    assert await env.run(acts.find_supervisor, EmployeeLookup(employee_id="MG")) is None
    await env.run(acts.check_follow_up_assignee, EmployeeLookup(employee_id="JD"))
    with pytest.raises(ApplicationError) as unknown:
        await env.run(acts.check_follow_up_assignee, EmployeeLookup(employee_id="NOBODY"))
    assert (unknown.value.type, unknown.value.non_retryable) == ("UnknownEmployee", True)

    # A note takes the conversation's memo type by default and joins the follow-up's thread.
    key = f"wf-{tag()}/1-note"
    first = await env.run(acts.append_follow_up_note, note(record, "Left a voicemail.", key))
    again = await env.run(acts.append_follow_up_note, note(record, "Left a voicemail.", key))
    assert first == again
    written = await trackers.get_conversation(sessions, first.conversation_id)
    assert written is not None
    assert (written.memo_type, written.thread_id) == ("MS", record.thread_id)
    with pytest.raises(ApplicationError) as bad_memo:
        await env.run(acts.append_follow_up_note, note(record, "x", f"wf-{tag()}", "PC"))
    assert (bad_memo.value.type, bad_memo.value.non_retryable) == ("ValidationError", True)

    # Reassigned to MG, never JD: the e2e story (same database) expects JD's follow-up lists,
    # completed ones included, to hold only its own.
    step = ReassignStep(
        follow_up_id=record.id,
        to_employee_id="MG",
        by_employee_id="MG",
        idempotency_key=f"wf-{tag()}/2-reassign",
        at=AT,
        reason="MG has the file.",
        note=note(record, "Reassigned from SR to MG by MG.", f"wf-{tag()}/2-reassign/note"),
    )
    await env.run(acts.reassign_follow_up, step)
    await env.run(acts.reassign_follow_up, step)
    thread = await followups.get_follow_up_with_thread(sessions, record.id, today=TODAY)
    assert thread is not None
    assert thread.follow_up.assignee_employee_id == "MG"
    assert [(h.from_employee_id, h.to_employee_id) for h in thread.history] == [("SR", "MG")]

    nxt = await env.run(
        acts.open_next_follow_up,
        OpenNextFollowUp(
            follow_up_id=f"next-{tag()}",
            parent_follow_up_id=record.id,
            conversation_id=first.conversation_id,
            assignee_employee_id="SR",
            assigned_by="JD",
            due_on=date(2026, 12, 1),
            idempotency_key=f"wf-{tag()}/3-note/next",
        ),
    )
    assert (nxt.member_id, nxt.tracker_id) == (record.member_id, record.tracker_id)
    opened = await followups.get_follow_up(sessions, nxt.follow_up_id, today=TODAY)
    assert opened is not None and opened.thread_id == record.thread_id

    done = CompleteStep(
        follow_up_id=record.id,
        employee_id="JD",
        idempotency_key=f"wf-{tag()}/4-complete",
        at=AT,
        note=note(record, "Follow-up completed by JD.", f"wf-{tag()}/4-complete/note"),
    )
    await env.run(acts.complete_follow_up, done)
    await env.run(acts.complete_follow_up, done)
    completed = await followups.get_follow_up(sessions, record.id, today=TODAY)
    assert completed is not None
    assert (completed.status, completed.completed_by) == ("completed", "JD")
    other = done.model_copy(update={"idempotency_key": f"wf-{tag()}/other", "note": None})
    with pytest.raises(ApplicationError) as conflict:
        await env.run(acts.complete_follow_up, other)
    assert (conflict.value.type, conflict.value.non_retryable) == ("Conflict", True)


async def sales_follow_up(sessions: Sessions, ops: OpsConfig) -> FollowUpRecord:
    """A follow-up on a lead in a new member's Sales Tracker (cross-sales required)."""
    written = await trackers.append_conversation(
        sessions,
        ops,
        member_id=str(random.randint(10**8, 10**9 - 1)),
        tracker_type="ST",
        memo_type="SL",
        employee_id="MG",
        text="Interested in a credit card.",
        idempotency_key=f"lead-{tag()}",
        need_group="BORROW",
        task="CCAPP",
    )
    return await followups.open_follow_up(
        sessions,
        idempotency_key=f"follow-up-{tag()}",
        conversation_id=written.conversation_id,
        assignee_employee_id="SR",
        assigned_by="MG",
        due_on=date(2026, 11, 25),
        today=TODAY,
    )


async def test_closing_note_on_a_sales_tracker_carries_the_need_group_and_task(
    sessions: Sessions, ops: OpsConfig
) -> None:
    # Before the fix the closing note had no Need Group or Task: refused (422) after the row
    # was already marked completed, so the next try was a 409 and the workflow stayed open.
    acts = FollowUpActivities(sessions, RecordingPublisher(), Topics(), ops)
    env = ActivityEnvironment()
    record = await sales_follow_up(sessions, ops)
    key = f"wf-{tag()}/1-complete"
    done = CompleteStep(
        follow_up_id=record.id,
        employee_id="SR",
        idempotency_key=key,
        at=AT,
        note=note(record, "Follow-up completed by SR.", f"{key}/note"),
    )
    await env.run(acts.complete_follow_up, done)
    completed = await followups.get_follow_up(sessions, record.id, today=TODAY)
    assert completed is not None and completed.status == "completed"
    thread = await followups.get_follow_up_with_thread(sessions, record.id, today=TODAY)
    assert thread is not None
    closing = [c for c in thread.conversations if c.text == "Follow-up completed by SR."]
    assert [(c.memo_type, c.need_group, c.task) for c in closing] == [("SL", "BORROW", "CCAPP")]


async def test_a_closing_note_that_cannot_be_written_leaves_the_follow_up_outstanding(
    sessions: Sessions, ops: OpsConfig
) -> None:
    record = await sales_follow_up(sessions, ops)
    # The task was dropped from the configuration since the lead was written.
    changed = ops.model_copy(update={"tasks": [t for t in ops.tasks if t.code != "CCAPP"]})
    acts = FollowUpActivities(sessions, RecordingPublisher(), Topics(), changed)
    key = f"wf-{tag()}/1-complete"
    done = CompleteStep(
        follow_up_id=record.id,
        employee_id="SR",
        idempotency_key=key,
        at=AT,
        note=note(record, "Follow-up completed by SR.", f"{key}/note"),
    )
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(acts.complete_follow_up, done)
    assert (refused.value.type, refused.value.non_retryable) == ("ValidationError", True)
    assert "task CCAPP is not a configured Task" in refused.value.message
    still = await followups.get_follow_up(sessions, record.id, today=TODAY)
    assert still is not None and still.status == "outstanding"
