"""``FollowUpWorkflow``: the durable life of one follow-up, from assignment to completion.

Workflow id ``follow-up-{follow_up_id}``. The assignee is notified at start; a durable timer
reminds them at the start of the due date and another escalates to them and their supervisor
once the follow-up is ``overdue_after_days`` past it. The desk completes, reassigns or adds
notes through Updates; every step lands in the Tracker as an immutable conversation note.

The module is longer than most because it is one workflow definition: the run loop, the three
Updates with their validators and the query share the workflow's state, and Temporal wants them
on one class. Its activities live in ``workers/trackers/activities.py``.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from contracts.ids import follow_up_workflow_id
from contracts.trackers.follow_ups import (
    AddNoteInput,
    AddNoteResult,
    CompleteInput,
    CompleteStep,
    DeadlineRequest,
    EmployeeLookup,
    EmployeeNotice,
    FollowUpDeadlines,
    FollowUpInput,
    FollowUpNote,
    FollowUpResult,
    FollowUpView,
    NoteWritten,
    OpenedFollowUp,
    OpenNextFollowUp,
    ReassignInput,
    Reassignment,
    ReassignStep,
)
from contracts.trackers.messages import (
    FOLLOWUP_ASSIGNED_NOTICE,
    FOLLOWUP_DUE_NOTICE,
    FOLLOWUP_OVERDUE_NOTICE,
    FOLLOWUP_REASSIGNED_NOTICE,
)
from contracts.vocabulary import SYSTEM_EMPLOYEE, FollowUpState, Refusal, Role
from workflows.policies import (
    LOCAL_TIMEOUT,
    LOOKUP_TIMEOUT,
    WRITE_RETRY,
    WRITE_TIMEOUT,
    refusals_re_raised,
    refused,
)
from workflows.search_attributes import ASSIGNEE_ID, FOLLOW_UP_STATUS, MEMBER_ID

with workflow.unsafe.imports_passed_through():
    from workers.trackers.activities import FollowUpActivities, follow_up_deadlines


@workflow.defn
class FollowUpWorkflow:
    """outstanding (assigned → due reminder → overdue escalation) → completed."""

    @workflow.init
    def __init__(self, start: FollowUpInput) -> None:
        """Set up state before any handler runs (Updates may arrive in the first task)."""
        self._start = start
        self._assignee = start.assignee_employee_id
        self._status = FollowUpState.OUTSTANDING
        self._history: list[Reassignment] = []
        self._completed_by: str | None = None
        self._completed_at: datetime | None = None
        self._next_follow_up_id: str | None = None
        self._deadlines: FollowUpDeadlines | None = None
        # Handlers run as concurrent tasks; the lock keeps one state change (and the timers'
        # notices) at a time, so a reminder never goes to an assignee being replaced.
        self._lock = asyncio.Lock()
        self._steps = 0

    @workflow.run
    async def run(self, start: FollowUpInput) -> FollowUpResult:
        """Notify, remind, escalate, and wait for the desk to complete the follow-up."""
        self._upsert_search_attributes()
        policy = start.policy
        # A local activity, not workflow code: time zone data cannot be read in the sandbox, and
        # the recorded result keeps replays identical even if the tz database changes.
        self._deadlines = await workflow.execute_local_activity(
            follow_up_deadlines,
            DeadlineRequest(
                due_on=start.due_on,
                overdue_after_days=policy.overdue_after_days,
                time_zone=policy.time_zone,
            ),
            start_to_close_timeout=LOCAL_TIMEOUT,
        )
        async with self._lock:
            if self._status is FollowUpState.OUTSTANDING:
                await self._notify(
                    FOLLOWUP_ASSIGNED_NOTICE, [self._assignee], self._key("assigned")
                )

        # No reminder when the due date had already begun at assignment: the assigned notice
        # said as much.
        if policy.reminder_on_due_date and self._deadlines.due_at > workflow.now():
            await self._wait_until(self._deadlines.due_at, "due-date reminder")
            async with self._lock:
                if self._status is FollowUpState.OUTSTANDING:
                    await self._notify(FOLLOWUP_DUE_NOTICE, [self._assignee], self._key("due"))

        await self._wait_until(self._deadlines.escalate_at, "overdue escalation")
        async with self._lock:
            if self._status is FollowUpState.OUTSTANDING:
                await self._escalate()

        await workflow.wait_condition(lambda: self._status is FollowUpState.COMPLETED)
        # Let in-flight Update handlers finish before the workflow completes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return FollowUpResult(
            follow_up_id=start.follow_up_id,
            status=self._status,
            assignee_employee_id=self._assignee,
            completed_by=self._completed_by,
            completed_at=self._completed_at,
            next_follow_up_id=self._next_follow_up_id,
            reassignments=len(self._history),
        )

    async def _wait_until(self, when: datetime, summary: str) -> None:
        remaining = when - workflow.now()
        if remaining <= timedelta(0):
            return
        # A durable timer that survives worker restarts; waiting on the condition rather than
        # sleeping ends the wait as soon as the follow-up is completed.
        with suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._status is FollowUpState.COMPLETED,
                timeout=remaining,
                timeout_summary=summary,
            )

    async def _escalate(self) -> None:
        recipients = [self._assignee]
        supervisor: str | None = None
        if self._start.policy.escalate_to_supervisor:
            supervisor = await workflow.execute_activity_method(
                FollowUpActivities.find_supervisor,
                EmployeeLookup(employee_id=self._assignee),
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
            if supervisor is not None and supervisor != self._assignee:
                recipients.append(supervisor)
        await self._notify(FOLLOWUP_OVERDUE_NOTICE, recipients, self._key("overdue"))
        text = f"Follow-up overdue (due {self._start.due_on.isoformat()}, {self._assignee})"
        text += f"; escalated to supervisor {supervisor}." if len(recipients) > 1 else "."
        try:
            await self._append_note(self._note(SYSTEM_EMPLOYEE, text, self._key("overdue/note")))
        except ApplicationError as refused:
            # The notices went out; a Tracker that refuses the audit note (purged, say) must
            # not fail the follow-up itself.
            workflow.logger.warning(
                "follow-up %s: overdue note refused (%s)", self._start.follow_up_id, refused.type
            )
        workflow.logger.info("follow-up %s overdue, escalated", self._start.follow_up_id)

    # --- Updates ------------------------------------------------------------------------------
    # Updates, not Signals: the desk needs an immediate yes or no (not yours, already completed,
    # unknown employee). Validators reject before anything is written to history; handlers
    # re-check under the lock because two Updates can pass validation in the same task.

    @workflow.update
    async def complete(self, action: CompleteInput) -> FollowUpView:
        """Mark the follow-up completed (only its assignee or a supervisor).

        Args:
            action: Who completes it, their role and an optional closing note.

        Returns:
            The completed follow-up.
        """
        async with self._lock:
            self._check_may_complete(action.employee_id, action.role)
            key = self._step("complete")
            text = f"Follow-up completed by {action.employee_id}."
            if action.note:
                text += f"\n{action.note}"
            note = self._note(action.employee_id, text, f"{key}/note")
            await self._complete(action.employee_id, key, note)
            return self.view()

    @complete.validator
    def _validate_complete(self, action: CompleteInput) -> None:
        self._check_may_complete(action.employee_id, action.role)

    @workflow.update
    async def reassign(self, action: ReassignInput) -> FollowUpView:
        """Hand the follow-up to another known employee, who is notified; history is kept.

        Args:
            action: Who reassigns it, the new assignee and an optional reason.

        Returns:
            The follow-up with its new assignee.
        """
        async with self._lock:
            self._check_reassign(action)
            new_assignee = action.assignee_employee_id
            await self._require_employee(new_assignee)
            previous, now, key = self._assignee, workflow.now(), self._step("reassign")
            text = (
                f"Follow-up reassigned from {previous} to {new_assignee} by {action.employee_id}."
            )
            if action.note:
                text += f"\n{action.note}"
            with refusals_re_raised():
                await workflow.execute_activity_method(
                    FollowUpActivities.reassign_follow_up,
                    ReassignStep(
                        follow_up_id=self._start.follow_up_id,
                        to_employee_id=new_assignee,
                        by_employee_id=action.employee_id,
                        idempotency_key=key,
                        at=now,
                        reason=action.note,
                        note=self._note(action.employee_id, text, f"{key}/note"),
                    ),
                    start_to_close_timeout=WRITE_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                )
            self._assignee = new_assignee
            self._history.append(
                Reassignment(
                    at=now,
                    from_employee_id=previous,
                    to_employee_id=new_assignee,
                    by_employee_id=action.employee_id,
                    note=action.note,
                )
            )
            self._upsert_search_attributes()
            await self._notify(
                FOLLOWUP_REASSIGNED_NOTICE, [new_assignee], key, assigned_by=action.employee_id
            )
            return self.view()

    @reassign.validator
    def _validate_reassign(self, action: ReassignInput) -> None:
        self._check_reassign(action)

    @workflow.update
    async def add_note(self, request: AddNoteInput) -> AddNoteResult:
        """Add a conversation note; with ``next_follow_up`` complete this one and open the next.

        Args:
            request: The note, its memo type and the optional next follow-up.

        Returns:
            The note's conversation id, whether this follow-up completed, and the next one's id.
        """
        async with self._lock:
            self._check_add_note(request)
            nxt = request.next_follow_up
            if nxt is not None:
                await self._require_employee(nxt.assignee_employee_id)
            key = self._step("note")
            note = self._note(request.employee_id, request.note, key, request.memo_type)
            written = await self._append_note(note)
            if nxt is None:
                return AddNoteResult(conversation_id=written.conversation_id, completed=False)

            # From the workflow's deterministic uuid: a replayed task or a retried activity
            # reuses it, so the next follow-up opens once.
            new_id = str(workflow.uuid4())
            with refusals_re_raised():
                opened: OpenedFollowUp = await workflow.execute_activity_method(
                    FollowUpActivities.open_next_follow_up,
                    OpenNextFollowUp(
                        follow_up_id=new_id,
                        parent_follow_up_id=self._start.follow_up_id,
                        conversation_id=written.conversation_id,
                        assignee_employee_id=nxt.assignee_employee_id,
                        assigned_by=request.employee_id,
                        due_on=nxt.due_on,
                        idempotency_key=f"{key}/next",
                    ),
                    start_to_close_timeout=WRITE_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                )
            child = FollowUpInput(
                follow_up_id=opened.follow_up_id,
                member_id=self._start.member_id,
                tracker_id=opened.tracker_id,
                conversation_id=opened.conversation_id,
                assignee_employee_id=opened.assignee_employee_id,
                assigned_by=request.employee_id,
                due_on=opened.due_on,
                summary=self._start.summary,
                policy=self._start.policy,
                memo_type=self._start.memo_type,
                parent_follow_up_id=self._start.follow_up_id,
            )
            # A child so the link shows in the UI, with ABANDON because the next follow-up
            # outlives this one, which completes in a moment.
            await start_follow_up_child(child)
            self._next_follow_up_id = opened.follow_up_id
            # The note just written is the closing note: no second one.
            await self._complete(request.employee_id, f"{key}/complete", None)
            return AddNoteResult(
                conversation_id=written.conversation_id,
                completed=True,
                next_follow_up_id=opened.follow_up_id,
            )

    @add_note.validator
    def _validate_add_note(self, request: AddNoteInput) -> None:
        self._check_add_note(request)

    # --- Query --------------------------------------------------------------------------------

    @workflow.query
    def view(self) -> FollowUpView:
        """The follow-up's current state (overdue as of the workflow's latest event)."""
        overdue = (
            self._status is FollowUpState.OUTSTANDING
            and self._deadlines is not None
            and workflow.now() >= self._deadlines.overdue_from
        )
        return FollowUpView(
            follow_up_id=self._start.follow_up_id,
            member_id=self._start.member_id,
            tracker_id=self._start.tracker_id,
            conversation_id=self._start.conversation_id,
            assignee_employee_id=self._assignee,
            assigned_by=self._start.assigned_by,
            due_on=self._start.due_on,
            summary=self._start.summary,
            status=self._status,
            overdue=overdue,
            history=list(self._history),
            completed_by=self._completed_by,
            completed_at=self._completed_at,
            next_follow_up_id=self._next_follow_up_id,
            parent_follow_up_id=self._start.parent_follow_up_id,
        )

    # --- checks (validators are sync and read only the input and the state) -------------------

    def _check_outstanding(self) -> None:
        if self._status is FollowUpState.COMPLETED:
            raise refused(
                f"follow-up {self._start.follow_up_id} is already completed", Refusal.CONFLICT
            )

    def _check_may_complete(self, employee_id: str, role: str) -> None:
        self._check_outstanding()
        if employee_id != self._assignee and role != Role.SUPERVISOR:
            raise refused(
                f"only the assignee ({self._assignee}) or a supervisor may complete "
                f"follow-up {self._start.follow_up_id}",
                Refusal.FORBIDDEN,
            )

    def _check_reassign(self, action: ReassignInput) -> None:
        self._check_outstanding()
        if action.assignee_employee_id == self._assignee:
            raise refused(
                f"follow-up {self._start.follow_up_id} is already assigned to {self._assignee}",
                Refusal.CONFLICT,
            )

    def _check_add_note(self, request: AddNoteInput) -> None:
        if request.next_follow_up is None:
            self._check_outstanding()
        else:
            # Opening the next follow-up completes this one: the same rule as ``complete``.
            self._check_may_complete(request.employee_id, request.role)

    # --- steps --------------------------------------------------------------------------------

    @staticmethod
    def _key(name: str) -> str:
        """The idempotency key of a once-only step: workflow id + step name."""
        return f"{workflow.info().workflow_id}/{name}"

    def _step(self, name: str) -> str:
        """An idempotency key for the next step: workflow id + a deterministic sequence."""
        self._steps += 1
        return f"{workflow.info().workflow_id}/{self._steps}-{name}"

    def _note(
        self, employee_id: str, text: str, key: str, memo_type: str | None = None
    ) -> FollowUpNote:
        return FollowUpNote(
            follow_up_id=self._start.follow_up_id,
            tracker_id=self._start.tracker_id,
            conversation_id=self._start.conversation_id,
            memo_type=memo_type or self._start.memo_type,
            employee_id=employee_id,
            text=text,
            idempotency_key=key,
            at=workflow.now(),
        )

    async def _append_note(self, note: FollowUpNote) -> NoteWritten:
        with refusals_re_raised():
            return await workflow.execute_activity_method(
                FollowUpActivities.append_follow_up_note,
                note,
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )

    async def _require_employee(self, employee_id: str) -> None:
        # Existence needs the store, which a validator cannot read. Checked first in the
        # handler, so a refusal leaves nothing half-written.
        with refusals_re_raised():
            await workflow.execute_activity_method(
                FollowUpActivities.check_follow_up_assignee,
                EmployeeLookup(employee_id=employee_id),
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )

    async def _complete(self, employee_id: str, key: str, note: FollowUpNote | None) -> None:
        now = workflow.now()
        with refusals_re_raised():
            await workflow.execute_activity_method(
                FollowUpActivities.complete_follow_up,
                CompleteStep(
                    follow_up_id=self._start.follow_up_id,
                    employee_id=employee_id,
                    idempotency_key=key,
                    at=now,
                    note=note,
                ),
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
        self._status = FollowUpState.COMPLETED
        self._completed_by = employee_id
        self._completed_at = now
        self._upsert_search_attributes()
        workflow.logger.info("follow-up %s completed", self._start.follow_up_id)

    async def _notify(
        self,
        notice_type: str,
        recipients: list[str],
        key: str,
        *,
        assigned_by: str | None = None,
    ) -> None:
        """One notice per recipient; event id = step key + recipient, so retries de-duplicate."""
        for employee_id in recipients:
            await workflow.execute_activity_method(
                FollowUpActivities.notify_follow_up_employee,
                EmployeeNotice(
                    event_id=f"{key}/{employee_id}",
                    notice_type=notice_type,
                    employee_id=employee_id,
                    follow_up_id=self._start.follow_up_id,
                    member_id=self._start.member_id,
                    tracker_id=self._start.tracker_id,
                    conversation_id=self._start.conversation_id,
                    due_on=self._start.due_on,
                    summary=self._start.summary,
                    assigned_by=assigned_by or self._start.assigned_by,
                    at=workflow.now(),
                ),
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )

    def _upsert_search_attributes(self) -> None:
        # Business keys and states only: search attributes are stored unencrypted.
        workflow.upsert_search_attributes(
            [
                MEMBER_ID.value_set(self._start.member_id),
                ASSIGNEE_ID.value_set(self._assignee),
                FOLLOW_UP_STATUS.value_set(self._status),
            ]
        )


async def start_follow_up_child(start: FollowUpInput) -> None:
    """Start a follow-up's own workflow from inside another workflow.

    A child, so the link shows in the UI; ABANDON, because a follow-up lives for days after the
    request, assignment or follow-up that opened it has finished.
    """
    await workflow.start_child_workflow(
        FollowUpWorkflow.run,
        start,
        id=follow_up_workflow_id(start.follow_up_id),
        parent_close_policy=workflow.ParentClosePolicy.ABANDON,
    )
