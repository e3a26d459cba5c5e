"""Follow-up assignments from other systems: checked against configuration, then started."""

from __future__ import annotations

import contextlib

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.assignments.messages import FOLLOWUP_ASSIGNED, FollowUpAssigned
from contracts.assignments.workflow import AssignmentInput
from contracts.ids import assignment_workflow_id
from contracts.platform.operations import OpsConfig
from workers.app.bridge import AssignmentHandler
from workers.platform import employees
from workers.platform.database import Sessions
from workers.platform.errors import InvalidTrackerWriteError
from workers.platform.intake import Accepted, Rejected, parse_typed
from workers.platform.temporal_retries import with_retries
from workers.trackers.tracker_store import check_conversation
from workflows.assignments.follow_up_assignment import FollowUpAssignmentWorkflow
from workflows.search_attributes import ASSIGNEE_ID, MEMBER_ID


def make_assignment_starter(
    temporal: Client, task_queue: str, ops: OpsConfig, sessions: Sessions
) -> AssignmentHandler:
    """The bridge's handler for ``followup-assignments.v1`` record values."""
    from temporalio.common import SearchAttributePair, TypedSearchAttributes

    async def start(value: bytes | None) -> None:
        accepted = parse_assignment(value)
        assignment = accepted.data
        try:
            check_conversation(
                ops,
                assignment.tracker_type,
                assignment.memo_type,
                assignment.need_group,
                assignment.task,
                assignment.note,
            )
        except InvalidTrackerWriteError as exc:
            raise Rejected(f"invalid {FOLLOWUP_ASSIGNED} data: {exc}") from None
        assignee = assignment.assignee_employee_id
        if await employees.get_employee(sessions, assignee) is None:
            raise Rejected(
                f"invalid {FOLLOWUP_ASSIGNED} data: assignee_employee_id {assignee} "
                "is not a known employee"
            )
        workflow_id = assignment_workflow_id(assignment.assignment_id)
        start_input = AssignmentInput(
            event_id=accepted.event.id, source=accepted.event.source, assignment=assignment
        )

        async def call() -> None:
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await temporal.start_workflow(
                    FollowUpAssignmentWorkflow.run,
                    start_input,
                    id=workflow_id,
                    task_queue=task_queue,
                    # Same policy as contact requests: a redelivered record starts nothing new.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    search_attributes=TypedSearchAttributes(
                        [
                            SearchAttributePair(MEMBER_ID, assignment.member_id),
                            SearchAttributePair(ASSIGNEE_ID, assignee),
                        ]
                    ),
                )

        await with_retries(call, f"start {workflow_id}")

    return start


def parse_assignment(value: bytes | None) -> Accepted[FollowUpAssigned]:
    """A ``cu.followup.assigned.v1`` record (configuration checks happen in the bridge)."""
    return parse_typed(value, FOLLOWUP_ASSIGNED, FollowUpAssigned)
