"""Follow-up assignments from other systems: checked against configuration, then started."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from contracts.assignments.messages import FOLLOWUP_ASSIGNED, FollowUpAssigned
from contracts.assignments.workflow import AssignmentInput
from contracts.ids import assignment_workflow_id
from contracts.platform.operations import OpsConfig
from workers.app.bridge import AssignmentHandler
from workers.platform import employees
from workers.platform.database import Sessions
from workers.platform.errors import InvalidTrackerWriteError
from workers.platform.intake import Accepted, Rejected, parse_typed
from workers.platform.member_search import MemberSearchKey
from workers.platform.temporal_retries import start_once
from workers.trackers.tracker_store import check_conversation
from workflows.assignments.follow_up_assignment import FollowUpAssignmentWorkflow
from workflows.search_attributes import ASSIGNEE_ID, MEMBER_KEY

EmployeeLookup = Callable[[Sessions, str], Awaitable[employees.EmployeeRecord | None]]
"""Finds an employee by id (None when unknown); raises when the database cannot answer."""


def make_assignment_starter(
    temporal: Client,
    task_queue: str,
    ops: OpsConfig,
    sessions: Sessions,
    search_key: MemberSearchKey,
    *,
    find_employee: EmployeeLookup = employees.get_employee,
) -> AssignmentHandler:
    """The bridge's handler for ``followup-assignments.v1`` record values.

    ``search_key`` turns the member number into the ``MemberKey`` search attribute.

    ``find_employee`` is injectable so tests can make the database unreachable for one check.
    A database error propagates: the bridge reads the record again rather than guessing.
    """

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
        if await find_employee(sessions, assignee) is None:
            raise Rejected(
                f"invalid {FOLLOWUP_ASSIGNED} data: assignee_employee_id {assignee} "
                "is not a known employee"
            )
        start_input = AssignmentInput(
            event_id=accepted.event.id, source=accepted.event.source, assignment=assignment
        )
        await start_once(
            temporal,
            FollowUpAssignmentWorkflow.run,
            start_input,
            workflow_id=assignment_workflow_id(assignment.assignment_id),
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(MEMBER_KEY, search_key.of(assignment.member_id)),
                    SearchAttributePair(ASSIGNEE_ID, assignee),
                ]
            ),
        )

    return start


def parse_assignment(value: bytes | None) -> Accepted[FollowUpAssigned]:
    """A ``cu.followup.assigned.v1`` record (configuration checks happen in the bridge)."""
    return parse_typed(value, FOLLOWUP_ASSIGNED, FollowUpAssigned)
