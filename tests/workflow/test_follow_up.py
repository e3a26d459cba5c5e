"""``FollowUpWorkflow`` on the time-skipping server, with in-memory fake activities.

The fakes are registered under the real activity names and record every call, so each test
reads exactly which notices went to whom and what reached the (fake) Tracker store.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from contracts.trackers.follow_ups import (
    AddNoteInput,
    CompleteInput,
    CompleteStep,
    EmployeeLookup,
    EmployeeNotice,
    FollowUpInput,
    FollowUpNote,
    FollowUpPolicySnapshot,
    FollowUpResult,
    NextFollowUp,
    NoteWritten,
    OpenedFollowUp,
    OpenNextFollowUp,
    ReassignInput,
    ReassignStep,
)
from contracts.trackers.messages import (
    FOLLOWUP_ASSIGNED_NOTICE,
    FOLLOWUP_DUE_NOTICE,
    FOLLOWUP_OVERDUE_NOTICE,
    FOLLOWUP_REASSIGNED_NOTICE,
)
from contracts.vocabulary import FollowUpStatus
from tests.secrets import keyed_temporal_settings
from tests.workflow.fake_directory import fake_look_up_directory
from workers.platform.payload_codec import data_converter
from workers.trackers.activities import follow_up_deadlines
from workflows.search_attributes import ASSIGNEE_ID, FOLLOW_UP_STATUS, MEMBER_ID, MEMBER_KEY
from workflows.trackers.follow_up import FollowUpWorkflow
from workflows.trackers.follow_up_patches import OVERDUE_STATUS_PATCH

pytestmark = [pytest.mark.workflow, pytest.mark.asyncio(loop_scope="session")]

ZONE = ZoneInfo("America/Detroit")
MEMBER = "123456"
MEMBER_KEY_VALUE = "a" * 64  # what the activity would compute; workflows only carry it
TRACKER = "tracker-1"
CONVERSATION = "conversation-1"
# employee -> supervisor
STAFF: dict[str, str | None] = {"E1": "S1", "E2": "S1", "E3": None, "S1": None}


class FakeFollowUpActivities:
    """Same activity names as ``FollowUpActivities``; records calls instead of doing I/O."""

    def __init__(self, staff: dict[str, str | None]) -> None:
        self.staff = staff
        self.notices: list[EmployeeNotice] = []
        self.notes: list[FollowUpNote] = []
        self.completed: list[CompleteStep] = []
        self.reassigned: list[ReassignStep] = []
        self.opened: list[OpenNextFollowUp] = []
        self.complete_gate: asyncio.Event | None = None
        self._conversations: dict[str, str] = {}

    def all(self) -> list[Callable[..., Any]]:
        # The deadline calculator is pure: the real one is used.
        return [
            follow_up_deadlines,
            self.notify_follow_up_employee,
            self.check_follow_up_assignee,
            self.find_supervisor,
            self.append_follow_up_note,
            self.complete_follow_up,
            self.reassign_follow_up,
            self.open_next_follow_up,
            fake_look_up_directory,
        ]

    def notices_of(self, notice_type: str) -> list[tuple[str, str]]:
        """(recipient, follow-up id) of each notice of a type, in order."""
        return [
            (n.employee_id, n.follow_up_id) for n in self.notices if n.notice_type == notice_type
        ]

    @activity.defn
    async def notify_follow_up_employee(self, notice: EmployeeNotice) -> None:
        self.notices.append(notice)

    @activity.defn
    async def check_follow_up_assignee(self, lookup: EmployeeLookup) -> None:
        if lookup.employee_id not in self.staff:
            raise ApplicationError(
                f"{lookup.employee_id} is not a known employee",
                type="UnknownEmployee",
                non_retryable=True,
            )

    @activity.defn
    async def find_supervisor(self, lookup: EmployeeLookup) -> str | None:
        return self.staff.get(lookup.employee_id)

    def _write(self, note: FollowUpNote) -> NoteWritten:
        if note.idempotency_key not in self._conversations:
            self.notes.append(note)
            self._conversations[note.idempotency_key] = f"conversation-{len(self.notes) + 1}"
        return NoteWritten(
            tracker_id=note.tracker_id, conversation_id=self._conversations[note.idempotency_key]
        )

    @activity.defn
    async def append_follow_up_note(self, note: FollowUpNote) -> NoteWritten:
        return self._write(note)

    @activity.defn
    async def complete_follow_up(self, step: CompleteStep) -> None:
        if self.complete_gate is not None:
            await self.complete_gate.wait()
        self.completed.append(step)
        if step.note is not None:
            self._write(step.note)

    @activity.defn
    async def reassign_follow_up(self, step: ReassignStep) -> None:
        self.reassigned.append(step)
        self._write(step.note)

    @activity.defn
    async def open_next_follow_up(self, request: OpenNextFollowUp) -> OpenedFollowUp:
        self.opened.append(request)
        return OpenedFollowUp(
            follow_up_id=request.follow_up_id,
            member_id=MEMBER,
            tracker_id=TRACKER,
            conversation_id=request.conversation_id,
            assignee_employee_id=request.assignee_employee_id,
            due_on=request.due_on,
        )


@dataclass
class Harness:
    """A worker with fakes on a task queue of its own."""

    env: WorkflowEnvironment
    fake: FakeFollowUpActivities
    task_queue: str

    async def today(self) -> date:
        """The test server's current date in the credit union's time zone."""
        return (await self.env.get_current_time()).astimezone(ZONE).date()

    async def start(
        self, *, due_in_days: int = 3, assignee: str = "E1", **policy: Any
    ) -> WorkflowHandle[FollowUpWorkflow, FollowUpResult]:
        """Start a follow-up due ``due_in_days`` from today and wait for its assigned notice."""
        follow_up_id = str(uuid.uuid4())
        handle = await self.env.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(
                follow_up_id=follow_up_id,
                member_id=MEMBER,
                member_key=MEMBER_KEY_VALUE,
                tracker_id=TRACKER,
                conversation_id=CONVERSATION,
                assignee_employee_id=assignee,
                assigned_by="TELLER1",
                due_on=await self.today() + timedelta(days=due_in_days),
                summary="Call back about the auto loan payoff",
                policy=FollowUpPolicySnapshot(**policy),
            ),
            id=f"follow-up-{follow_up_id}",
            task_queue=self.task_queue,
        )
        await eventually(lambda: (assignee, follow_up_id) in self.assigned())
        return handle

    def assigned(self) -> list[tuple[str, str]]:
        """Assigned notices so far."""
        return self.fake.notices_of(FOLLOWUP_ASSIGNED_NOTICE)


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (real time; the server's clock only moves when told to) until ``predicate``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def until_search_status(
    handle: WorkflowHandle[Any, Any], expected: FollowUpStatus, timeout: float = 10.0
) -> None:
    """Wait (real time) until the ``FollowUpStatus`` search attribute reads ``expected``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await handle.describe()).typed_search_attributes.get(FOLLOW_UP_STATUS) != expected:
        if loop.time() > deadline:
            raise AssertionError(f"FollowUpStatus never read {expected.value}")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def harness(env: WorkflowEnvironment) -> AsyncIterator[Harness]:
    """A fresh fake and worker for one test."""
    fake = FakeFollowUpActivities(dict(STAFF))
    task_queue = f"follow-up-test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[FollowUpWorkflow],
        activities=fake.all(),
    ):
        yield Harness(env, fake, task_queue)


async def replays_cleanly(handle: WorkflowHandle[Any, Any]) -> None:
    """The recorded history replays without non-determinism (the code is deterministic)."""
    converter = data_converter(keyed_temporal_settings())
    replayer = Replayer(workflows=[FollowUpWorkflow], data_converter=converter)
    await replayer.replay_workflow(await handle.fetch_history())


def refusal(exc_info: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str | None:
    """The error type an Update was refused with."""
    cause = exc_info.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause.type


async def test_assigned_notice_sent_at_start(time_skipping_env: WorkflowEnvironment) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start()
        follow_up_id = handle.id.removeprefix("follow-up-")

        notice = h.fake.notices[0]
        assert notice.notice_type == FOLLOWUP_ASSIGNED_NOTICE
        assert notice.employee_id == "E1"
        assert notice.member_id == MEMBER
        assert notice.tracker_id == TRACKER
        assert notice.conversation_id == CONVERSATION
        assert notice.assigned_by == "TELLER1"
        assert notice.event_id == f"follow-up-{follow_up_id}/assigned/E1"
        view = await handle.query(FollowUpWorkflow.view)
        assert (view.status, view.overdue, view.assignee_employee_id) == (
            "outstanding",
            False,
            "E1",
        )

        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(ASSIGNEE_ID) == "E1"
        assert attributes.get(FOLLOW_UP_STATUS) == "outstanding"
        # The member by keyed hash (from the input), never the number.
        assert attributes.get(MEMBER_KEY) == MEMBER_KEY_VALUE
        assert attributes.get(MEMBER_ID) is None

        await handle.execute_update(
            FollowUpWorkflow.complete, CompleteInput(employee_id="E1", note="Called, paid off.")
        )
        result = await handle.result()
        assert (result.status, result.completed_by) == ("completed", "E1")
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(FOLLOW_UP_STATUS) == "completed"


async def test_days_pass_due_reminder_then_overdue_to_assignee_and_supervisor(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        # Due in 2 days, overdue notice 2 days after that (start of day, Detroit time).
        handle = await h.start(due_in_days=2, overdue_after_days=2)
        follow_up_id = handle.id.removeprefix("follow-up-")

        await time_skipping_env.sleep(timedelta(days=2, hours=2))
        await eventually(lambda: bool(h.fake.notices_of(FOLLOWUP_DUE_NOTICE)))
        assert h.fake.notices_of(FOLLOWUP_DUE_NOTICE) == [("E1", follow_up_id)]
        assert h.fake.notices_of(FOLLOWUP_OVERDUE_NOTICE) == []
        assert (await handle.query(FollowUpWorkflow.view)).overdue is False

        await time_skipping_env.sleep(timedelta(days=2))
        await eventually(lambda: len(h.fake.notices_of(FOLLOWUP_OVERDUE_NOTICE)) == 2)
        assert h.fake.notices_of(FOLLOWUP_OVERDUE_NOTICE) == [
            ("E1", follow_up_id),
            ("S1", follow_up_id),
        ]
        await eventually(lambda: len(h.fake.notes) == 1)
        escalation = h.fake.notes[0]
        assert escalation.employee_id == "SYSTEM"
        assert "escalated to supervisor S1" in escalation.text
        assert (await handle.query(FollowUpWorkflow.view)).overdue is True

        # A supervisor may complete someone else's follow-up.
        view = await handle.execute_update(
            FollowUpWorkflow.complete, CompleteInput(employee_id="S1", role="supervisor")
        )
        assert (view.status, view.completed_by, view.overdue) == ("completed", "S1", False)
        await handle.result()
        assert len(h.fake.notices_of(FOLLOWUP_DUE_NOTICE)) == 1
        await replays_cleanly(handle)


async def test_overdue_without_supervisor_goes_to_the_assignee_only(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start(assignee="E3", due_in_days=1, overdue_after_days=1)
        await time_skipping_env.sleep(timedelta(days=3))
        await eventually(lambda: bool(h.fake.notices_of(FOLLOWUP_OVERDUE_NOTICE)))
        assert [r for r, _ in h.fake.notices_of(FOLLOWUP_OVERDUE_NOTICE)] == ["E3"]
        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E3"))
        await handle.result()


async def test_completed_before_due_sends_no_reminder(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start(due_in_days=2)
        view = await handle.execute_update(
            FollowUpWorkflow.complete, CompleteInput(employee_id="E1", note="Done early.")
        )
        assert view.status == "completed"
        result = await handle.result()
        assert result.completed_by == "E1"

        await time_skipping_env.sleep(timedelta(days=10))
        assert [n.notice_type for n in h.fake.notices] == [FOLLOWUP_ASSIGNED_NOTICE]
        # The completion reached the store with its closing note.
        assert [c.employee_id for c in h.fake.completed] == ["E1"]
        assert len(h.fake.notes) == 1
        assert h.fake.notes[0].text.endswith("Done early.")


async def test_complete_by_someone_else_is_forbidden(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                FollowUpWorkflow.complete, CompleteInput(employee_id="E2", role="employee")
            )
        assert refusal(refused) == "Forbidden"
        assert (await handle.query(FollowUpWorkflow.view)).status == "outstanding"
        assert h.fake.completed == []

        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E1"))
        await handle.result()


async def test_complete_twice_is_a_conflict(time_skipping_env: WorkflowEnvironment) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start()
        # Hold the first completion in its store write, so the second arrives while the
        # workflow is still open: it passes validation, then meets the completed state.
        h.fake.complete_gate = asyncio.Event()
        first = await handle.start_update(
            FollowUpWorkflow.complete,
            CompleteInput(employee_id="E1"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        second = await handle.start_update(
            FollowUpWorkflow.complete,
            CompleteInput(employee_id="S1", role="supervisor"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        h.fake.complete_gate.set()

        assert (await first.result()).completed_by == "E1"
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await second.result()
        assert refusal(refused) == "Conflict"
        assert (await handle.result()).completed_by == "E1"
        assert [c.employee_id for c in h.fake.completed] == ["E1"]


async def test_reassign_notifies_new_assignee_and_keeps_history(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start()
        follow_up_id = handle.id.removeprefix("follow-up-")

        view = await handle.execute_update(
            FollowUpWorkflow.reassign,
            ReassignInput(employee_id="E1", assignee_employee_id="E2", note="E2 knows the loan."),
        )
        assert view.assignee_employee_id == "E2"
        assert [(r.from_employee_id, r.to_employee_id, r.by_employee_id) for r in view.history] == [
            ("E1", "E2", "E1")
        ]
        assert h.fake.notices_of(FOLLOWUP_REASSIGNED_NOTICE) == [("E2", follow_up_id)]
        reassigned = h.fake.notices[-1]
        assert reassigned.assigned_by == "E1"
        assert reassigned.event_id.startswith(f"follow-up-{follow_up_id}/")
        # The store got the reassignment (with its history entry) and a Tracker note.
        assert [(s.to_employee_id, s.by_employee_id) for s in h.fake.reassigned] == [("E2", "E1")]
        assert "reassigned from E1 to E2 by E1" in h.fake.notes[-1].text
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(ASSIGNEE_ID) == "E2"

        # The old assignee may no longer complete it; the new one may.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E1"))
        assert refusal(refused) == "Forbidden"
        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E2"))
        result = await handle.result()
        assert (result.assignee_employee_id, result.reassignments) == ("E2", 1)
        await replays_cleanly(handle)


async def test_reassign_to_unknown_employee_changes_nothing(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                FollowUpWorkflow.reassign,
                ReassignInput(employee_id="E1", assignee_employee_id="NOBODY"),
            )
        assert refusal(refused) == "UnknownEmployee"

        view = await handle.query(FollowUpWorkflow.view)
        assert (view.assignee_employee_id, view.history) == ("E1", [])
        assert h.fake.reassigned == []
        assert h.fake.notes == []
        assert [n.notice_type for n in h.fake.notices] == [FOLLOWUP_ASSIGNED_NOTICE]

        # Reassigning to the current assignee is refused by the validator.
        with pytest.raises(WorkflowUpdateFailedError) as same:
            await handle.execute_update(
                FollowUpWorkflow.reassign,
                ReassignInput(employee_id="E1", assignee_employee_id="E1"),
            )
        assert refusal(same) == "Conflict"

        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E1"))
        await handle.result()


async def test_add_note_keeps_the_follow_up_open(time_skipping_env: WorkflowEnvironment) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start()
        result = await handle.execute_update(
            FollowUpWorkflow.add_note,
            AddNoteInput(employee_id="E1", note="Left a voicemail.", memo_type="FU"),
        )
        assert (result.completed, result.next_follow_up_id) == (False, None)
        assert result.conversation_id
        note = h.fake.notes[-1]
        assert (note.employee_id, note.memo_type, note.text) == ("E1", "FU", "Left a voicemail.")
        assert (await handle.query(FollowUpWorkflow.view)).status == "outstanding"

        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E1"))
        await handle.result()


async def update_forbidden(handle: WorkflowHandle[Any, Any], update: Any, arg: Any) -> str:
    """The message of an Update refused with ``Forbidden``."""
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(update, arg)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Forbidden", cause
    return cause.message


async def test_only_the_assignee_or_their_supervisor_acts_whatever_the_update_says(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    """E2 claims to be a supervisor: the directory says employee, so nothing happens; E2 cannot
    take E1's follow-up by reassigning it to himself either. S1 (E1's supervisor) can."""
    async with harness(time_skipping_env) as h:
        handle = await h.start()
        forged = "supervisor"
        for update, arg in (
            (FollowUpWorkflow.complete, CompleteInput(employee_id="E2", role=forged)),
            (
                FollowUpWorkflow.reassign,
                ReassignInput(employee_id="E2", role=forged, assignee_employee_id="E2"),
            ),
            (FollowUpWorkflow.add_note, AddNoteInput(employee_id="E2", role=forged, note="x")),
        ):
            message = await update_forbidden(handle, update, arg)
            assert message.startswith("E2 (employee) may not"), message
        # Without the forged role the validator turns E2 away before anything is recorded.
        message = await update_forbidden(
            handle,
            FollowUpWorkflow.reassign,
            ReassignInput(employee_id="E2", assignee_employee_id="E2"),
        )
        assert "only the assignee (E1) or their supervisor may reassign" in message
        # E3 is nobody's supervisor and shares no department with E1.
        message = await update_forbidden(
            handle, FollowUpWorkflow.complete, CompleteInput(employee_id="E3", role=forged)
        )
        assert message.startswith("E3 (employee) may not complete")
        assert not h.fake.completed and not h.fake.reassigned and not h.fake.notes
        view = await handle.query(FollowUpWorkflow.view)
        assert (view.status, view.assignee_employee_id) == ("outstanding", "E1")

        await handle.execute_update(
            FollowUpWorkflow.reassign,
            ReassignInput(employee_id="S1", role="supervisor", assignee_employee_id="E2"),
        )
        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E2"))
        assert (await handle.result()).completed_by == "E2"


async def test_add_note_with_next_follow_up_completes_and_starts_the_next(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start()
        follow_up_id = handle.id.removeprefix("follow-up-")
        next_due = await h.today() + timedelta(days=7)

        result = await handle.execute_update(
            FollowUpWorkflow.add_note,
            AddNoteInput(
                employee_id="E1",
                note="Member asked us to call again next week.",
                next_follow_up=NextFollowUp(assignee_employee_id="E2", due_on=next_due),
            ),
        )
        assert result.completed is True
        next_id = result.next_follow_up_id
        assert next_id is not None and next_id != follow_up_id

        done = await handle.result()
        assert (done.status, done.completed_by, done.next_follow_up_id) == (
            "completed",
            "E1",
            next_id,
        )
        # The note was the closing note: one note, one completion without an extra note.
        assert len(h.fake.notes) == 1
        assert [(c.follow_up_id, c.note) for c in h.fake.completed] == [(follow_up_id, None)]
        opened = h.fake.opened[0]
        assert (opened.follow_up_id, opened.parent_follow_up_id) == (next_id, follow_up_id)
        assert opened.conversation_id == result.conversation_id

        # The next follow-up has a workflow of its own, which notified its assignee.
        await eventually(lambda: ("E2", next_id) in h.assigned())
        child = time_skipping_env.client.get_workflow_handle_for(
            FollowUpWorkflow.run, f"follow-up-{next_id}"
        )
        child_view = await child.query(FollowUpWorkflow.view)
        assert (child_view.status, child_view.assignee_employee_id) == ("outstanding", "E2")
        assert child_view.parent_follow_up_id == follow_up_id
        assert child_view.conversation_id == result.conversation_id
        assert child_view.due_on == next_due

        await child.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E2"))
        assert (await child.result()).completed_by == "E2"
        await replays_cleanly(handle)
        await replays_cleanly(child)


async def test_add_note_with_next_follow_up_to_unknown_employee_writes_nothing(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                FollowUpWorkflow.add_note,
                AddNoteInput(
                    employee_id="E1",
                    note="Hand over.",
                    next_follow_up=NextFollowUp(
                        assignee_employee_id="NOBODY", due_on=await h.today()
                    ),
                ),
            )
        assert refusal(refused) == "UnknownEmployee"
        assert (h.fake.notes, h.fake.opened, h.fake.completed) == ([], [], [])

        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E1"))
        await handle.result()


async def search_statuses(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Every ``FollowUpStatus`` value the workflow upserted, in order."""
    history = await handle.fetch_history()
    statuses: list[str] = []
    for event in history.events:
        upsert = event.upsert_workflow_search_attributes_event_attributes
        fields = upsert.search_attributes.indexed_fields
        if FOLLOW_UP_STATUS.name in fields:
            statuses.append(json.loads(fields[FOLLOW_UP_STATUS.name].data))
    return statuses


async def patch_markers(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The ``workflow.patched`` markers in the history (the patch ids' recorded details)."""
    history = await handle.fetch_history()
    return [
        payload.data.decode()
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
        and event.marker_recorded_event_attributes.marker_name == "core_patch"
        for payloads in event.marker_recorded_event_attributes.details.values()
        for payload in payloads.payloads
    ]


async def test_follow_up_status_reads_overdue_from_the_day_after_the_due_date(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        # Due tomorrow; overdue from the day after; escalated two days after the due date.
        handle = await h.start(due_in_days=1, overdue_after_days=2)
        follow_up_id = handle.id.removeprefix("follow-up-")
        # The patch's marker, and the TemporalChangeVersion search attribute Temporal derives
        # from it (what docs/workflow-versioning.md queries before removing the old path).
        assert any(OVERDUE_STATUS_PATCH in marker for marker in await patch_markers(handle))
        description = await handle.describe()
        fields = description.raw_description.workflow_execution_info.search_attributes
        assert OVERDUE_STATUS_PATCH in json.loads(
            fields.indexed_fields["TemporalChangeVersion"].data
        )

        await time_skipping_env.sleep(timedelta(days=1, hours=2))
        await eventually(lambda: bool(h.fake.notices_of(FOLLOWUP_DUE_NOTICE)))
        await until_search_status(handle, FollowUpStatus.OUTSTANDING)

        await time_skipping_env.sleep(timedelta(days=1))
        await until_search_status(handle, FollowUpStatus.OVERDUE)
        assert (await handle.query(FollowUpWorkflow.view)).overdue is True
        assert h.fake.notices_of(FOLLOWUP_OVERDUE_NOTICE) == []

        # A reassignment keeps it overdue; the escalation then goes to the new assignee.
        await handle.execute_update(
            FollowUpWorkflow.reassign, ReassignInput(employee_id="E1", assignee_employee_id="E2")
        )
        attributes = (await handle.describe()).typed_search_attributes
        assert (attributes.get(ASSIGNEE_ID), attributes.get(FOLLOW_UP_STATUS)) == (
            "E2",
            FollowUpStatus.OVERDUE,
        )
        await time_skipping_env.sleep(timedelta(days=1))
        await eventually(lambda: len(h.fake.notices_of(FOLLOWUP_OVERDUE_NOTICE)) == 2)
        assert h.fake.notices_of(FOLLOWUP_OVERDUE_NOTICE) == [
            ("E2", follow_up_id),
            ("S1", follow_up_id),
        ]

        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E2"))
        await handle.result()
        # At start, on the day after the due date, on reassignment, on completion.
        assert await search_statuses(handle) == ["outstanding", "overdue", "overdue", "completed"]
        await replays_cleanly(handle)


async def test_escalated_on_the_due_date_reads_overdue_the_next_day(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        # overdue_after_days=0: the overdue notice goes out with the due-date reminder, but the
        # follow-up only reads overdue (as on the desk) once the due date has passed.
        handle = await h.start(due_in_days=1, overdue_after_days=0)
        await time_skipping_env.sleep(timedelta(days=1, hours=2))
        await eventually(lambda: len(h.fake.notices_of(FOLLOWUP_OVERDUE_NOTICE)) == 2)
        await until_search_status(handle, FollowUpStatus.OUTSTANDING)

        await time_skipping_env.sleep(timedelta(days=1))
        await until_search_status(handle, FollowUpStatus.OVERDUE)
        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E1"))
        await handle.result()
        assert await search_statuses(handle) == ["outstanding", "overdue", "completed"]
        await replays_cleanly(handle)


async def test_completed_before_due_never_reads_overdue(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with harness(time_skipping_env) as h:
        handle = await h.start(due_in_days=1)
        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E1"))
        await handle.result()
        await time_skipping_env.sleep(timedelta(days=5))
        assert await search_statuses(handle) == ["outstanding", "completed"]
