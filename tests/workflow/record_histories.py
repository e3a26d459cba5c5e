"""Record the workflow histories that ``test_replay.py`` replays on every CI run.

Each scenario drives a real workflow on Temporal's time-skipping test server with the same
in-memory activity doubles the workflow tests use (``test_contact_request.py``,
``test_follow_up.py``, ``test_tier_scoring_workflow.py``), waits for it to close, checks that its
history replays against the current code, and writes it to
``tests/workflow/histories/<release>/<scenario>.json``. Every value is made up (member
``000000000001``, employees ``E1``/``S1``/``SR``...): the files are committed.

    .venv/bin/python -m tests.workflow.record_histories --list
    .venv/bin/python -m tests.workflow.record_histories                  # all, release = version
    .venv/bin/python -m tests.workflow.record_histories --release 0.2.0 follow_up_reassign

Existing files are never overwritten without ``--force``: a history is evidence of what an
older release wrote, and stays until no run of that release is open (docs/workflow-versioning.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.assignments.messages import FollowUpAssigned
from contracts.assignments.workflow import AssignmentInput, OpenAssignment
from contracts.contacts.messages import ContactSubmitted
from contracts.contacts.workflow import (
    ContactRequestInput,
    EmployeeAction,
    FollowUpRequest,
    PrivateContactsOptions,
    ReplyInput,
)
from contracts.ids import (
    assignment_workflow_id,
    contact_request_workflow_id,
    follow_up_workflow_id,
)
from contracts.tiers.runs import MonthlyTierScoringInput, TierScoringInput
from contracts.trackers.follow_ups import (
    AddNoteInput,
    CompleteInput,
    FollowUpInput,
    FollowUpPolicySnapshot,
    NextFollowUp,
    ReassignInput,
)
from contracts.trackers.mass import MassTrackerInput
from contracts.trackers.messages import FOLLOWUP_DUE_NOTICE, FOLLOWUP_OVERDUE_NOTICE
from contracts.trackers.purge import RetentionPurgeInput
from contracts.trackers.relocations import ConsolidationInput, CopyInput
from contracts.vocabulary import FollowUpStatus, RequestState, Role
from tests.workflow.replay import HISTORIES, history_document, worker_replayer
from tests.workflow.test_contact_request import FakeContactActivities
from tests.workflow.test_follow_up import (
    STAFF,
    ZONE,
    FakeFollowUpActivities,
    eventually,
    until_search_status,
)
from tests.workflow.test_mass_tracker_workflow import Fakes as FakeMassActivities
from tests.workflow.test_relocation_workflows import Fakes as FakeRelocationActivities
from tests.workflow.test_tier_scoring_workflow import FakeTierActivities
from tests.workflow.test_tracker_retention_workflow import RULES as RETENTION_RULES
from tests.workflow.test_tracker_retention_workflow import Fakes as FakeRetentionActivities
from tests.workflow.time_skipping import start_time_skipping_env
from workers.platform.payload_codec import with_codec
from workflows.assignments.follow_up_assignment import FollowUpAssignmentWorkflow
from workflows.contacts.contact_request import ContactRequestWorkflow
from workflows.tiers.tier_scoring import MonthlyTierScoringWorkflow, TierScoringWorkflow
from workflows.trackers.follow_up import FollowUpWorkflow
from workflows.trackers.mass_trackers import MassTrackerWorkflow
from workflows.trackers.relocations import ConsolidateTrackersWorkflow, CopyTrackerWorkflow
from workflows.trackers.retention import TrackerRetentionWorkflow

IDENTITY = "record-histories"
"""Client and worker identity written into the histories (instead of pid@hostname)."""
TASK_QUEUE = "record-histories"
FAKE_MEMBER = "000000000001"
FAKE_TEXT = "Made-up text for a recorded test history."

Handle = WorkflowHandle[Any, Any]


@dataclass(frozen=True)
class Scenario:
    """One recorded history: what it drives and how."""

    name: str
    workflow: type
    description: str
    drive: Callable[[WorkflowEnvironment], Awaitable[Handle]]
    """Runs the scenario on a fresh server; returns the handle whose history is recorded,
    once that workflow has closed."""


def _worker_with_follow_ups(
    env: WorkflowEnvironment, workflow: type, activities: list[Callable[..., Any]]
) -> Worker:
    """A worker for ``workflow`` that also runs the follow-up children it starts.

    Children inherit the task queue: without ``FollowUpWorkflow`` here their tasks would fail
    (noisily) on this worker. Their histories are not recorded; the follow-up doubles answer
    the assignee check (staff ``E1``, ``E2``, ``E3``, ``S1``).
    """
    follow_up_fakes = FakeFollowUpActivities(dict(STAFF)).all()
    names = {getattr(a, "__name__", "") for a in follow_up_fakes}
    return Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[workflow, FollowUpWorkflow],
        activities=[a for a in activities if a.__name__ not in names] + follow_up_fakes,
        identity=IDENTITY,
    )


# --- ContactRequestWorkflow ----------------------------------------------------------------


def _contact_start(request_id: str) -> ContactRequestInput:
    return ContactRequestInput(
        event_id=f"event-{request_id}",
        request=ContactSubmitted(
            request_id=request_id,
            member_id=FAKE_MEMBER,
            channel="online",
            subject="Test subject",
            message=FAKE_TEXT,
            department="LOANS",
            submitted_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        ),
        options=PrivateContactsOptions(claim_timeout_seconds=1800),
    )


async def _contact(
    env: WorkflowEnvironment, request_id: str, steps: Callable[[Handle], Awaitable[None]]
) -> Handle:
    start = _contact_start(request_id)
    async with _worker_with_follow_ups(env, ContactRequestWorkflow, FakeContactActivities().all()):
        handle: Handle = await env.client.start_workflow(
            ContactRequestWorkflow.run,
            start,
            id=contact_request_workflow_id(request_id),
            task_queue=TASK_QUEUE,
            search_attributes=ContactRequestWorkflow.initial_search_attributes(
                start.request, "member-key-recorded"
            ),
        )
        await steps(handle)
        await handle.result()
    return handle


async def contact_claim_reply_follow_up(env: WorkflowEnvironment) -> Handle:
    """Claim, then reply with the copy to the Tracker and a follow-up for a colleague."""

    async def steps(handle: Handle) -> None:
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        await handle.execute_update(
            ContactRequestWorkflow.reply,
            ReplyInput(
                employee_id="SR",
                body=FAKE_TEXT,
                copy_to_tracker=True,
                follow_up=FollowUpRequest(assignee_employee_id="E2", due_on=date(2026, 1, 9)),
            ),
        )

    return await _contact(env, "replay-claim-reply", steps)


async def contact_claim_lapse(env: WorkflowEnvironment) -> Handle:
    """A claim lapses on its timer; another employee claims and replies without a copy."""

    async def steps(handle: Handle) -> None:
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        await env.sleep(timedelta(minutes=31))
        view = await handle.query(ContactRequestWorkflow.view)
        assert view.state is RequestState.QUEUED, view
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="JD"))
        await handle.execute_update(
            ContactRequestWorkflow.reply,
            ReplyInput(employee_id="JD", body=FAKE_TEXT, copy_to_tracker=False),
        )

    return await _contact(env, "replay-claim-lapse", steps)


async def contact_release_delete(env: WorkflowEnvironment) -> Handle:
    """Claimed, released by a supervisor, then deleted from the queue by the supervisor."""

    async def steps(handle: Handle) -> None:
        supervisor = EmployeeAction(employee_id="MG", role=Role.SUPERVISOR)
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        await handle.execute_update(ContactRequestWorkflow.release, supervisor)
        # Deleting needs a claim or a supervisor (since contact-request-directory-check).
        await handle.execute_update(ContactRequestWorkflow.delete, supervisor)

    return await _contact(env, "replay-release-delete", steps)


async def _refused(handle: Handle, update: Any, arg: Any) -> None:
    """An Update the workflow must refuse as ``Forbidden`` (from its handler, so recorded)."""
    try:
        await handle.execute_update(update, arg)
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        assert isinstance(cause, ApplicationError) and cause.type == "Forbidden", cause
        return
    raise AssertionError("the Update was not refused")


async def contact_directory_checks(env: WorkflowEnvironment) -> Handle:
    """Each Update re-checked in the directory: a forged supervisor refused, the real one acts."""

    async def steps(handle: Handle) -> None:
        forged = EmployeeAction(employee_id="JD", role=Role.SUPERVISOR)
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        await _refused(handle, ContactRequestWorkflow.release, forged)
        await _refused(handle, ContactRequestWorkflow.delete, forged)
        await handle.execute_update(
            ContactRequestWorkflow.release, EmployeeAction(employee_id="MG", role=Role.SUPERVISOR)
        )
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="JD"))
        await handle.execute_update(
            ContactRequestWorkflow.reply,
            ReplyInput(employee_id="JD", body=FAKE_TEXT, copy_to_tracker=False),
        )

    return await _contact(env, "replay-directory-checks", steps)


# --- FollowUpWorkflow ----------------------------------------------------------------------


async def _follow_up(
    env: WorkflowEnvironment,
    follow_up_id: str,
    steps: Callable[[Handle, FakeFollowUpActivities], Awaitable[None]],
    *,
    due_in_days: int = 3,
    policy: FollowUpPolicySnapshot | None = None,
) -> Handle:
    fake = FakeFollowUpActivities(dict(STAFF))
    today = (await env.get_current_time()).astimezone(ZONE).date()
    async with Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[FollowUpWorkflow],
        activities=fake.all(),
        identity=IDENTITY,
    ):
        handle: Handle = await env.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(
                follow_up_id=follow_up_id,
                member_id=FAKE_MEMBER,
                tracker_id="tracker-1",
                conversation_id="conversation-1",
                assignee_employee_id="E1",
                assigned_by="TELLER1",
                due_on=today + timedelta(days=due_in_days),
                summary="Test follow-up",
                policy=policy or FollowUpPolicySnapshot(),
            ),
            id=follow_up_workflow_id(follow_up_id),
            task_queue=TASK_QUEUE,
        )
        # The assigned notice is the first workflow task's last step: Updates sent before it
        # would land in that task and make the history less typical.
        await eventually(lambda: bool(fake.notices))
        await steps(handle, fake)
        await handle.result()
    return handle


async def follow_up_due_overdue_complete(env: WorkflowEnvironment) -> Handle:
    """Assigned, due-date reminder, overdue escalation to assignee and supervisor, completed."""

    async def steps(handle: Handle, fake: FakeFollowUpActivities) -> None:
        await env.sleep(timedelta(days=2, hours=2))
        await eventually(lambda: bool(fake.notices_of(FOLLOWUP_DUE_NOTICE)))
        await env.sleep(timedelta(days=2))
        await eventually(lambda: len(fake.notices_of(FOLLOWUP_OVERDUE_NOTICE)) == 2)
        await eventually(lambda: len(fake.notes) == 1)
        await handle.execute_update(
            FollowUpWorkflow.complete,
            CompleteInput(employee_id="S1", role=Role.SUPERVISOR, note=FAKE_TEXT),
        )

    return await _follow_up(
        env,
        "replay-due-overdue",
        steps,
        due_in_days=2,
        policy=FollowUpPolicySnapshot(overdue_after_days=2),
    )


async def follow_up_escalate_on_due_date(env: WorkflowEnvironment) -> Handle:
    """``overdue_after_days=0``: reminder and escalation on the due date, overdue the next day."""

    async def steps(handle: Handle, fake: FakeFollowUpActivities) -> None:
        await env.sleep(timedelta(days=1, hours=2))
        await eventually(lambda: len(fake.notices_of(FOLLOWUP_OVERDUE_NOTICE)) == 2)
        await env.sleep(timedelta(days=1))
        await until_search_status(handle, FollowUpStatus.OVERDUE)
        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E1"))

    return await _follow_up(
        env,
        "replay-escalate-on-due-date",
        steps,
        due_in_days=1,
        policy=FollowUpPolicySnapshot(overdue_after_days=0),
    )


async def follow_up_reassign(env: WorkflowEnvironment) -> Handle:
    """Reassigned to a colleague (who is notified), who completes it."""

    async def steps(handle: Handle, fake: FakeFollowUpActivities) -> None:
        await handle.execute_update(
            FollowUpWorkflow.reassign,
            ReassignInput(employee_id="E1", assignee_employee_id="E2", note=FAKE_TEXT),
        )
        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E2"))

    return await _follow_up(env, "replay-reassign", steps)


async def follow_up_add_note_next(env: WorkflowEnvironment) -> Handle:
    """A note, then a note that opens the next follow-up (a child) and completes this one."""

    async def steps(handle: Handle, fake: FakeFollowUpActivities) -> None:
        await handle.execute_update(
            FollowUpWorkflow.add_note,
            AddNoteInput(employee_id="E1", note=FAKE_TEXT, memo_type="FU"),
        )
        today = (await env.get_current_time()).astimezone(ZONE).date()
        await handle.execute_update(
            FollowUpWorkflow.add_note,
            AddNoteInput(
                employee_id="E1",
                note=FAKE_TEXT,
                next_follow_up=NextFollowUp(
                    assignee_employee_id="E2", due_on=today + timedelta(days=7)
                ),
            ),
        )

    return await _follow_up(env, "replay-add-note-next", steps)


async def follow_up_directory_checks(env: WorkflowEnvironment) -> Handle:
    """A forged supervisor refused by the directory on every Update; the real one reassigns."""

    async def steps(handle: Handle, fake: FakeFollowUpActivities) -> None:
        forged = "supervisor"
        await _refused(
            handle, FollowUpWorkflow.complete, CompleteInput(employee_id="E3", role=forged)
        )
        await _refused(
            handle,
            FollowUpWorkflow.reassign,
            ReassignInput(employee_id="E3", role=forged, assignee_employee_id="E3"),
        )
        await _refused(
            handle,
            FollowUpWorkflow.add_note,
            AddNoteInput(employee_id="E3", role=forged, note=FAKE_TEXT),
        )
        await handle.execute_update(
            FollowUpWorkflow.reassign,
            ReassignInput(employee_id="S1", role=Role.SUPERVISOR, assignee_employee_id="E2"),
        )
        await handle.execute_update(
            FollowUpWorkflow.add_note, AddNoteInput(employee_id="E2", note=FAKE_TEXT)
        )
        await handle.execute_update(FollowUpWorkflow.complete, CompleteInput(employee_id="E2"))

    return await _follow_up(env, "replay-directory-checks", steps)


# --- FollowUpAssignmentWorkflow ------------------------------------------------------------


@activity.defn(name="open_assignment")
async def fake_open_assignment(request: OpenAssignment) -> FollowUpInput:
    """``open_assignment`` answered as the real one does, without the Tracker store."""
    assignment = request.assignment
    return FollowUpInput(
        follow_up_id=request.follow_up_id,
        member_id=assignment.member_id,
        tracker_id="tracker-1",
        conversation_id="conversation-1",
        assignee_employee_id=assignment.assignee_employee_id,
        assigned_by=assignment.assigned_by,
        due_on=assignment.follow_up_on,
        summary=f"{assignment.tracker_type}/{assignment.memo_type} follow-up",
        memo_type=assignment.memo_type,
    )


async def follow_up_assignment(env: WorkflowEnvironment) -> Handle:
    """Another system's assignment: conversation and follow-up opened, child started."""
    assignment = FollowUpAssigned(
        assignment_id="replay-assignment",
        member_id=FAKE_MEMBER,
        tracker_type="PC",
        memo_type="FU",
        note=FAKE_TEXT,
        assignee_employee_id="E1",
        assigned_by="TEST-SYSTEM",
        follow_up_on=date(2026, 1, 9),
        task="Test task",
    )
    async with _worker_with_follow_ups(env, FollowUpAssignmentWorkflow, [fake_open_assignment]):
        handle: Handle = await env.client.start_workflow(
            FollowUpAssignmentWorkflow.run,
            AssignmentInput(event_id="event-1", source="/test", assignment=assignment),
            id=assignment_workflow_id(assignment.assignment_id),
            task_queue=TASK_QUEUE,
        )
        await handle.result()
    return handle


# --- TierScoringWorkflow, MonthlyTierScoringWorkflow ---------------------------------------


async def tier_scoring_two_shards(env: WorkflowEnvironment) -> Handle:
    """A run of two shards of 100 (made-up) members: prepare, score and publish each, finish."""
    async with Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[TierScoringWorkflow],
        activities=FakeTierActivities(shards=2).all(),
        identity=IDENTITY,
    ):
        handle: Handle = await env.client.start_workflow(
            TierScoringWorkflow.run,
            TierScoringInput(period="2026-01", shard_count=2, max_concurrent_shards=2),
            id="tier-scoring-2026-01",
            task_queue=TASK_QUEUE,
            search_attributes=TierScoringWorkflow.search_attributes("2026-01"),
        )
        await handle.result()
    return handle


async def monthly_tier_scoring(env: WorkflowEnvironment) -> Handle:
    """The Schedule's workflow: works out last month and runs it as a child to the end."""
    async with Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[MonthlyTierScoringWorkflow, TierScoringWorkflow],
        activities=FakeTierActivities(shards=2).all(),
        identity=IDENTITY,
    ):
        handle: Handle = await env.client.start_workflow(
            MonthlyTierScoringWorkflow.run,
            MonthlyTierScoringInput(
                time_zone="America/Detroit", shard_count=2, max_concurrent_shards=2
            ),
            id="tier-scoring-monthly-replay",
            task_queue=TASK_QUEUE,
        )
        await handle.result()
    return handle


# --- MassTrackerWorkflow --------------------------------------------------------------------


async def mass_trackers_follow_ups(env: WorkflowEnvironment) -> Handle:
    """A batch of 25 (made-up) members in chunks of 10: three chunks written, then their
    follow-up workflows started, then the report (the list itself is never in the history)."""
    async with Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[MassTrackerWorkflow],
        activities=FakeMassActivities().all(),
        identity=IDENTITY,
    ):
        handle: Handle = await env.client.start_workflow(
            MassTrackerWorkflow.run,
            MassTrackerInput(
                batch_id="replay-batch", members_total=25, chunk_size=10, follow_ups=True
            ),
            id="mass-trackers-replay-batch",
            task_queue=TASK_QUEUE,
        )
        await handle.result()
    return handle


# --- TrackerRetentionWorkflow ----------------------------------------------------------------


async def tracker_retention_two_types(env: WorkflowEnvironment) -> Handle:
    """Two purgeable types with a retention: each verified, then confirmed, under its own id."""
    async with Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[TrackerRetentionWorkflow],
        activities=FakeRetentionActivities(RETENTION_RULES).all(),
        identity=IDENTITY,
    ):
        handle: Handle = await env.client.start_workflow(
            TrackerRetentionWorkflow.run,
            RetentionPurgeInput(),
            id="tracker-retention-replay",
            task_queue=TASK_QUEUE,
        )
        await handle.result()
    return handle


# --- ConsolidateTrackersWorkflow, CopyTrackerWorkflow ------------------------------------------


async def tracker_consolidation(env: WorkflowEnvironment) -> Handle:
    """Two (made-up) Trackers consolidated: one activity, its result."""
    async with Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[ConsolidateTrackersWorkflow],
        activities=FakeRelocationActivities().all(),
        identity=IDENTITY,
    ):
        handle: Handle = await env.client.start_workflow(
            ConsolidateTrackersWorkflow.run,
            ConsolidationInput(
                consolidation_id="replay-consolidation",
                member_id="000000000001",
                tracker_ids=["T2", "T1"],
                employee_id="S1",
            ),
            id="tracker-consolidation-replay",
            task_queue=TASK_QUEUE,
        )
        await handle.result()
    return handle


async def tracker_copy(env: WorkflowEnvironment) -> Handle:
    """A (made-up) Tracker copied to another membership: planned, then written."""
    async with Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[CopyTrackerWorkflow],
        activities=FakeRelocationActivities().all(),
        identity=IDENTITY,
    ):
        handle: Handle = await env.client.start_workflow(
            CopyTrackerWorkflow.run,
            CopyInput(
                copy_id="replay-copy",
                member_id="000000000001",
                tracker_id="T1",
                to_member_id="000000000002",
                employee_id="S1",
            ),
            id="tracker-copy-replay",
            task_queue=TASK_QUEUE,
        )
        await handle.result()
    return handle


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "contact_request_claim_reply_follow_up",
            ContactRequestWorkflow,
            "claim; reply with copy to Tracker and a follow-up for E2 (child started)",
            contact_claim_reply_follow_up,
        ),
        Scenario(
            "contact_request_claim_lapse",
            ContactRequestWorkflow,
            "claim lapses on its timer; re-claimed by another; reply without copy",
            contact_claim_lapse,
        ),
        Scenario(
            "contact_request_release_delete",
            ContactRequestWorkflow,
            "claim; released by a supervisor; deleted by the supervisor",
            contact_release_delete,
        ),
        Scenario(
            "contact_request_directory_checks",
            ContactRequestWorkflow,
            "claim; release and delete by a forged supervisor refused (directory); released by "
            "the supervisor; claimed and replied by another employee",
            contact_directory_checks,
        ),
        Scenario(
            "follow_up_due_overdue_complete",
            FollowUpWorkflow,
            "assigned; due reminder; overdue escalation (overdue_after_days=2); completed",
            follow_up_due_overdue_complete,
        ),
        Scenario(
            "follow_up_escalate_on_due_date",
            FollowUpWorkflow,
            "overdue_after_days=0: due reminder and escalation on the due date; FollowUpStatus "
            "overdue the next day (since follow-up-overdue-status); completed",
            follow_up_escalate_on_due_date,
        ),
        Scenario(
            "follow_up_reassign",
            FollowUpWorkflow,
            "assigned; reassigned E1 -> E2; completed by E2",
            follow_up_reassign,
        ),
        Scenario(
            "follow_up_add_note_next",
            FollowUpWorkflow,
            "assigned; note; note opening the next follow-up (child) and completing",
            follow_up_add_note_next,
        ),
        Scenario(
            "follow_up_directory_checks",
            FollowUpWorkflow,
            "complete, reassign and note by a forged supervisor refused (directory); reassigned "
            "by the supervisor; note and completion by the new assignee",
            follow_up_directory_checks,
        ),
        Scenario(
            "follow_up_assignment",
            FollowUpAssignmentWorkflow,
            "assignment opened; follow-up child started",
            follow_up_assignment,
        ),
        Scenario(
            "tier_scoring_two_shards",
            TierScoringWorkflow,
            "prepare; two shards scored and published; finish",
            tier_scoring_two_shards,
        ),
        Scenario(
            "monthly_tier_scoring",
            MonthlyTierScoringWorkflow,
            "previous period worked out; child TierScoringWorkflow of two shards",
            monthly_tier_scoring,
        ),
        Scenario(
            "mass_trackers_follow_ups",
            MassTrackerWorkflow,
            "three chunks written; their follow-up workflows started; report",
            mass_trackers_follow_ups,
        ),
        Scenario(
            "tracker_retention_two_types",
            TrackerRetentionWorkflow,
            "two types past retention: verify then confirm each",
            tracker_retention_two_types,
        ),
        Scenario(
            "tracker_consolidation",
            ConsolidateTrackersWorkflow,
            "two Trackers consolidated in one activity",
            tracker_consolidation,
        ),
        Scenario(
            "tracker_copy",
            CopyTrackerWorkflow,
            "a Tracker's conversations planned, then copied to another membership",
            tracker_copy,
        ),
    ]
}


async def record(scenario: Scenario, folder: Path, release: str) -> Path:
    """Run one scenario on a server of its own, check its history replays, write it."""
    # Plain payloads: recorded files must replay with any key, and hold invented members only.
    env = await start_time_skipping_env(identity=IDENTITY, converter=with_codec(None))
    try:
        handle = await scenario.drive(env)
        history = await handle.fetch_history()
        target = env.client.service_client.config.target_host
        replayer = await worker_replayer(target, env.client.namespace)
        await replayer.replay_workflow(history)
    finally:
        await env.shutdown()
    path = folder / f"{scenario.name}.json"
    path.write_text(
        history_document(
            history,
            workflow_type=scenario.workflow.__name__,
            release=release,
            scenario=scenario.name,
            description=scenario.description,
        ),
        encoding="utf-8",
    )
    return path


async def main(argv: list[str] | None = None) -> int:
    """Record the chosen scenarios (all by default) into ``histories/<release>/``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    parser.add_argument(
        "--release", default=version("memberflow"), help="folder name (default: the version)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument("--list", action="store_true", help="list the scenarios and stop")
    args = parser.parse_args(argv)
    if args.list:
        for s in SCENARIOS.values():
            print(f"{s.name:40} {s.workflow.__name__:28} {s.description}")
        return 0
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)} (see --list)")
    chosen = [SCENARIOS[name] for name in args.scenarios or SCENARIOS]
    folder = HISTORIES / args.release
    existing = [s.name for s in chosen if (folder / f"{s.name}.json").exists()]
    if existing and not args.force:
        parser.error(f"{folder} already has {', '.join(existing)} (--force to overwrite)")
    folder.mkdir(parents=True, exist_ok=True)
    for scenario in chosen:
        path = await record(scenario, folder, args.release)
        size = path.stat().st_size
        print(f"{path.relative_to(HISTORIES)}  {scenario.workflow.__name__}  {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
