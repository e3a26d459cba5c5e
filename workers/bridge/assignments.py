"""Follow-up assignments from other systems: checked against configuration, then started."""

from __future__ import annotations

import contextlib

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.assignments import AssignmentInput
from contracts.config import OpsConfig
from contracts.messages import FOLLOWUP_ASSIGNED
from workers.bridge.app import AssignmentHandler
from workers.bridge.intake import Rejected, parse_assignment
from workers.bridge.starter import with_retries
from workers.store import employees
from workers.store.db import Sessions
from workers.store.errors import InvalidTrackerWriteError
from workers.store.trackers import check_conversation
from workflows.follow_up_assignment import FollowUpAssignmentWorkflow
from workflows.search_attributes import ASSIGNEE_ID, MEMBER_ID


def assignment_workflow_id(assignment_id: str) -> str:
    """The business-key workflow id of an assignment."""
    return f"followup-assignment-{assignment_id}"


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
