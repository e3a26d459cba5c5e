"""The activity calls of a ``FollowUpWorkflow``, bound to the follow-up they act on.

Workflow code (deterministic, no I/O): each method schedules one activity with the shared
timeouts and retry policy, and re-raises an activity's refusal as the Update's own error so the
API answers it with its status. The workflow decides what to do; this module only says how each
step reaches the store or Kafka.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from contracts.ids import follow_up_workflow_id
from contracts.platform.directory import DirectoryAnswer, DirectoryEntry
from contracts.platform.permissions import Action, Relation
from contracts.platform.relations import person_relations
from contracts.trackers.follow_ups import (
    CompleteStep,
    EmployeeLookup,
    EmployeeNotice,
    FollowUpInput,
    FollowUpNote,
    NoteWritten,
    OpenedFollowUp,
    OpenNextFollowUp,
    ReassignStep,
)
from contracts.trackers.sales_leads import SalesOutcome
from workflows.directory import check_in_directory
from workflows.policies import LOOKUP_TIMEOUT, WRITE_RETRY, WRITE_TIMEOUT, refusals_re_raised

with workflow.unsafe.imports_passed_through():
    from workers.trackers.activities import FollowUpActivities

FOLLOW_UP_WORKFLOW = "FollowUpWorkflow"
"""The workflow type of ``FollowUpWorkflow``: other workflows start it by this name, so they do
not import the workflow class (and the class does not import them)."""


async def start_follow_up_child(start: FollowUpInput) -> None:
    """Start a follow-up's own workflow from inside another workflow.

    A child, so the link shows in the UI; ABANDON, because a follow-up lives for days after the
    request, assignment or follow-up that opened it has finished.
    """
    await workflow.start_child_workflow(
        FOLLOW_UP_WORKFLOW,
        start,
        id=follow_up_workflow_id(start.follow_up_id),
        parent_close_policy=workflow.ParentClosePolicy.ABANDON,
    )


class FollowUpSteps:
    """Store, lookup and notification steps of one follow-up."""

    def __init__(self, start: FollowUpInput) -> None:
        """Bind the steps to the follow-up's start input (its ids, Tracker and memo type)."""
        self._start = start

    def next_input(self, opened: OpenedFollowUp, assigned_by: str) -> FollowUpInput:
        """The start input of the follow-up that replaces this one (same member and policy)."""
        start = self._start
        return FollowUpInput(
            follow_up_id=opened.follow_up_id,
            member_id=start.member_id,
            member_key=start.member_key,
            tracker_id=opened.tracker_id,
            conversation_id=opened.conversation_id,
            assignee_employee_id=opened.assignee_employee_id,
            assigned_by=assigned_by,
            due_on=opened.due_on,
            summary=start.summary,
            policy=start.policy,
            memo_type=start.memo_type,
            parent_follow_up_id=start.follow_up_id,
        )

    def note(
        self, employee_id: str, text: str, key: str, memo_type: str | None = None
    ) -> FollowUpNote:
        """A conversation note on the follow-up's Tracker, under the follow-up's memo type."""
        start = self._start
        return FollowUpNote(
            follow_up_id=start.follow_up_id,
            tracker_id=start.tracker_id,
            conversation_id=start.conversation_id,
            memo_type=memo_type or start.memo_type,
            employee_id=employee_id,
            text=text,
            idempotency_key=key,
            at=workflow.now(),
        )

    async def append_note(self, note: FollowUpNote) -> NoteWritten:
        """Write a note to the Tracker (idempotent by its key)."""
        with refusals_re_raised():
            return await workflow.execute_activity_method(
                FollowUpActivities.append_follow_up_note,
                note,
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )

    async def require_employee(self, employee_id: str) -> None:
        """Refuse (UnknownEmployee) an employee the directory does not know."""
        # Existence needs the store, which a validator cannot read. Called first in a handler,
        # so a refusal leaves nothing half-written.
        with refusals_re_raised():
            await workflow.execute_activity_method(
                FollowUpActivities.check_follow_up_assignee,
                EmployeeLookup(employee_id=employee_id),
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )

    async def authorize(self, action: Action, employee_id: str, assignee: str) -> None:
        """Refuse (Forbidden) unless the directory's ``employee_id`` may take ``action`` on a
        follow-up assigned to ``assignee`` (``contracts.platform.permissions``)."""

        def relations(actor: DirectoryEntry, answer: DirectoryAnswer) -> frozenset[Relation]:
            return person_relations(actor, answer.get(assignee))

        await check_in_directory(action, employee_id, [assignee], relations)

    async def find_supervisor(self, employee_id: str) -> str | None:
        """The employee's supervisor, if any."""
        supervisor: str | None = await workflow.execute_activity_method(
            FollowUpActivities.find_supervisor,
            EmployeeLookup(employee_id=employee_id),
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        return supervisor

    async def complete(
        self,
        employee_id: str,
        key: str,
        at: datetime,
        note: FollowUpNote | None,
        outcome: SalesOutcome | None = None,
    ) -> None:
        """Mark the follow-up completed in the store (with a sales lead's outcome, if any),
        then write the closing note if any."""
        with refusals_re_raised():
            await workflow.execute_activity_method(
                FollowUpActivities.complete_follow_up,
                CompleteStep(
                    follow_up_id=self._start.follow_up_id,
                    employee_id=employee_id,
                    idempotency_key=key,
                    at=at,
                    note=note,
                    outcome=outcome,
                ),
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )

    async def reassign(self, step: ReassignStep) -> None:
        """Record the reassignment in the store and write its note."""
        with refusals_re_raised():
            await workflow.execute_activity_method(
                FollowUpActivities.reassign_follow_up,
                step,
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )

    async def open_next(self, request: OpenNextFollowUp) -> OpenedFollowUp:
        """Open the follow-up that replaces this one (idempotent by its key)."""
        with refusals_re_raised():
            opened: OpenedFollowUp = await workflow.execute_activity_method(
                FollowUpActivities.open_next_follow_up,
                request,
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
        return opened

    async def notify(
        self,
        notice_type: str,
        recipients: list[str],
        key: str,
        *,
        assigned_by: str | None = None,
    ) -> None:
        """One notice per recipient; event id = step key + recipient, so retries de-duplicate."""
        start = self._start
        for employee_id in recipients:
            await workflow.execute_activity_method(
                FollowUpActivities.notify_follow_up_employee,
                EmployeeNotice(
                    event_id=f"{key}/{employee_id}",
                    notice_type=notice_type,
                    employee_id=employee_id,
                    follow_up_id=start.follow_up_id,
                    member_id=start.member_id,
                    tracker_id=start.tracker_id,
                    conversation_id=start.conversation_id,
                    due_on=start.due_on,
                    summary=start.summary,
                    assigned_by=assigned_by or start.assigned_by,
                    at=workflow.now(),
                ),
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
