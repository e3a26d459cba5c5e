"""``FollowUpWorkflow``: the durable life of one follow-up, from assignment to completion.

Workflow id ``follow-up-{follow_up_id}``. The assignee is notified at start; a durable timer
reminds them at the start of the due date and another escalates to them and their supervisor
once the follow-up is ``overdue_after_days`` past it. The desk completes, reassigns or adds
notes through Updates; every step lands in the Tracker as an immutable conversation note. The
``FollowUpStatus`` search attribute reads ``outstanding``, ``overdue`` (from the day after the
due date) and ``completed``.

Who may act: ``contracts/platform/permissions.py``, re-checked against the employee directory
(``follow_up_steps.py``), and the state rules in ``follow_up_rules.py``; how each step reaches
the store or Kafka is in ``follow_up_steps.py``; the activities in ``workers/trackers/``.
Past 400 lines only by its Update handlers and their validators, which Temporal requires on
the workflow class itself.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from contracts.platform.permissions import Action
from contracts.trackers.follow_ups import (
    AddNoteInput,
    AddNoteResult,
    CompleteInput,
    DeadlineRequest,
    FollowUpDeadlines,
    FollowUpInput,
    FollowUpNote,
    FollowUpResult,
    FollowUpView,
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
from contracts.trackers.sales_leads import SalesOutcome, outcome_line
from contracts.vocabulary import SYSTEM_EMPLOYEE, FollowUpState, FollowUpStatus
from workflows.policies import LOCAL_TIMEOUT
from workflows.search_attributes import ASSIGNEE_ID, FOLLOW_UP_STATUS, MEMBER_ID, MEMBER_KEY
from workflows.trackers import follow_up_rules as rules
from workflows.trackers.follow_up_patches import DIRECTORY_CHECK_PATCH, OVERDUE_STATUS_PATCH
from workflows.trackers.follow_up_steps import (
    FOLLOW_UP_WORKFLOW,
    FollowUpSteps,
    start_follow_up_child,
)

with workflow.unsafe.imports_passed_through():
    from workers.trackers.activities import follow_up_deadlines


@workflow.defn(name=FOLLOW_UP_WORKFLOW)
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
        self._overdue = False
        self._marks_overdue = False
        # Handlers run as concurrent tasks; the lock keeps one state change (and the timers'
        # notices) at a time, so a reminder never goes to an assignee being replaced.
        self._lock = asyncio.Lock()
        self._step_count = 0
        self._steps = FollowUpSteps(start)

    @workflow.run
    async def run(self, start: FollowUpInput) -> FollowUpResult:
        """Notify, remind, escalate, and wait for the desk to complete the follow-up."""
        # Asked once, first thing: a run started before the change replays without the marker
        # and keeps the old command sequence for its whole life; the marker (and the
        # TemporalChangeVersion search attribute) tells new runs from old ones.
        self._marks_overdue = workflow.patched(OVERDUE_STATUS_PATCH)
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
                await self._steps.notify(
                    FOLLOWUP_ASSIGNED_NOTICE, [self._assignee], self._key("assigned")
                )

        # No reminder when the due date had already begun at assignment: the assigned notice
        # said as much.
        if policy.reminder_on_due_date and self._deadlines.due_at > workflow.now():
            await self._wait_until(self._deadlines.due_at, "due-date reminder")
            async with self._lock:
                if self._status is FollowUpState.OUTSTANDING:
                    await self._steps.notify(
                        FOLLOWUP_DUE_NOTICE, [self._assignee], self._key("due")
                    )

        # Overdue comes with the escalation (overdue_after_days = 1) or before it; with 0 days
        # the escalation goes out at the start of the due date and overdue follows next day.
        overdue_first = self._deadlines.overdue_from <= self._deadlines.escalate_at
        if self._marks_overdue and overdue_first:
            await self._mark_overdue_at(self._deadlines.overdue_from)

        await self._wait_until(self._deadlines.escalate_at, "overdue escalation")
        async with self._lock:
            if self._status is FollowUpState.OUTSTANDING:
                await self._escalate()

        if self._marks_overdue and not overdue_first:
            await self._mark_overdue_at(self._deadlines.overdue_from)

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

    async def _mark_overdue_at(self, when: datetime) -> None:
        await self._wait_until(when, "overdue status")
        # No lock: nothing is awaited. A completion in flight upserts "completed" after this.
        if self._status is FollowUpState.OUTSTANDING:
            self._overdue = True
            self._upsert_search_attributes()

    async def _escalate(self) -> None:
        recipients = [self._assignee]
        supervisor: str | None = None
        if self._start.policy.escalate_to_supervisor:
            supervisor = await self._steps.find_supervisor(self._assignee)
            if supervisor is not None and supervisor != self._assignee:
                recipients.append(supervisor)
        await self._steps.notify(FOLLOWUP_OVERDUE_NOTICE, recipients, self._key("overdue"))
        text = f"Follow-up overdue (due {self._start.due_on.isoformat()}, {self._assignee})"
        text += f"; escalated to supervisor {supervisor}." if len(recipients) > 1 else "."
        try:
            await self._steps.append_note(
                self._steps.note(SYSTEM_EMPLOYEE, text, self._key("overdue/note"))
            )
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
            rules.check_may_complete(self._facts(), action.employee_id, action.role)
            await self._authorize(Action.COMPLETE_FOLLOW_UP, action.employee_id)
            key = self._step("complete")
            text = f"Follow-up completed by {action.employee_id}."
            # A sales lead's outcome goes in the closing note (the Tracker is the record staff
            # read) and on the row (what the cross-sales report counts). The same commands as
            # any completion: only activity arguments differ, so old runs replay unchanged.
            if action.outcome is not None:
                text += f"\n{outcome_line(action.outcome)}"
            if action.note:
                text += f"\n{action.note}"
            note = self._steps.note(action.employee_id, text, f"{key}/note")
            await self._complete(action.employee_id, key, note, action.outcome)
            return self.view()

    @complete.validator
    def _validate_complete(self, action: CompleteInput) -> None:
        rules.check_may_complete(self._facts(), action.employee_id, action.role)

    @workflow.update
    async def reassign(self, action: ReassignInput) -> FollowUpView:
        """Hand the follow-up to another known employee, who is notified; history is kept.

        Args:
            action: Who reassigns it, the new assignee and an optional reason.

        Returns:
            The follow-up with its new assignee.
        """
        async with self._lock:
            rules.check_reassign(self._facts(), action)
            await self._authorize(Action.REASSIGN_FOLLOW_UP, action.employee_id)
            new_assignee = action.assignee_employee_id
            await self._steps.require_employee(new_assignee)
            previous, now, key = self._assignee, workflow.now(), self._step("reassign")
            text = (
                f"Follow-up reassigned from {previous} to {new_assignee} by {action.employee_id}."
            )
            if action.note:
                text += f"\n{action.note}"
            await self._steps.reassign(
                ReassignStep(
                    follow_up_id=self._start.follow_up_id,
                    to_employee_id=new_assignee,
                    by_employee_id=action.employee_id,
                    idempotency_key=key,
                    at=now,
                    reason=action.note,
                    note=self._steps.note(action.employee_id, text, f"{key}/note"),
                )
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
            await self._steps.notify(
                FOLLOWUP_REASSIGNED_NOTICE, [new_assignee], key, assigned_by=action.employee_id
            )
            return self.view()

    @reassign.validator
    def _validate_reassign(self, action: ReassignInput) -> None:
        rules.check_reassign(self._facts(), action)
        rules.check_may_act(self._facts(), action.employee_id, action.role, "reassign")

    @workflow.update
    async def add_note(self, request: AddNoteInput) -> AddNoteResult:
        """Add a conversation note; with ``next_follow_up`` complete this one and open the next.

        Args:
            request: The note, its memo type and the optional next follow-up.

        Returns:
            The note's conversation id, whether this follow-up completed, and the next one's id.
        """
        async with self._lock:
            rules.check_add_note(self._facts(), request)
            await self._authorize(Action.NOTE_FOLLOW_UP, request.employee_id)
            nxt = request.next_follow_up
            if nxt is not None:
                await self._steps.require_employee(nxt.assignee_employee_id)
            key = self._step("note")
            note = self._steps.note(request.employee_id, request.note, key, request.memo_type)
            written = await self._steps.append_note(note)
            if nxt is None:
                return AddNoteResult(conversation_id=written.conversation_id, completed=False)

            # From the workflow's deterministic uuid: a replayed task or a retried activity
            # reuses it, so the next follow-up opens once.
            new_id = str(workflow.uuid4())
            opened = await self._steps.open_next(
                OpenNextFollowUp(
                    follow_up_id=new_id,
                    parent_follow_up_id=self._start.follow_up_id,
                    conversation_id=written.conversation_id,
                    assignee_employee_id=nxt.assignee_employee_id,
                    assigned_by=request.employee_id,
                    due_on=nxt.due_on,
                    idempotency_key=f"{key}/next",
                )
            )
            # A child so the link shows in the UI, with ABANDON because the next follow-up
            # outlives this one, which completes in a moment.
            await start_follow_up_child(self._steps.next_input(opened, request.employee_id))
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
        rules.check_add_note(self._facts(), request)
        rules.check_may_act(self._facts(), request.employee_id, request.role, "add a note to")

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

    # --- state helpers ------------------------------------------------------------------------

    async def _authorize(self, action: Action, employee_id: str) -> None:
        """Forbidden unless the directory (not the Update's role) lets ``employee_id`` act."""
        if workflow.patched(DIRECTORY_CHECK_PATCH):
            await self._steps.authorize(action, employee_id, self._assignee)

    def _facts(self) -> rules.FollowUpFacts:
        return rules.FollowUpFacts(self._start.follow_up_id, self._status, self._assignee)

    @staticmethod
    def _key(name: str) -> str:
        """The idempotency key of a once-only step: workflow id + step name."""
        return f"{workflow.info().workflow_id}/{name}"

    def _step(self, name: str) -> str:
        """An idempotency key for the next step: workflow id + a deterministic sequence."""
        self._step_count += 1
        return f"{workflow.info().workflow_id}/{self._step_count}-{name}"

    async def _complete(
        self,
        employee_id: str,
        key: str,
        note: FollowUpNote | None,
        outcome: SalesOutcome | None = None,
    ) -> None:
        now = workflow.now()
        await self._steps.complete(employee_id, key, now, note, outcome)
        self._status = FollowUpState.COMPLETED
        self._completed_by = employee_id
        self._completed_at = now
        self._upsert_search_attributes()
        workflow.logger.info("follow-up %s completed", self._start.follow_up_id)

    def _upsert_search_attributes(self) -> None:
        # Business keys and states only: search attributes are stored unencrypted. The status
        # is the desk's (FollowUpStatus): overdue once marked so, until completed.
        status = FollowUpStatus(self._status.value)
        if self._overdue and self._status is FollowUpState.OUTSTANDING:
            status = FollowUpStatus.OVERDUE
        # The member by keyed hash (MemberKey, from the input: workflows hold no key), never the
        # number: MemberId is cleared, which also wipes it from runs started before MemberKey on
        # their next upsert. Same upsert calls, other values: replay compares neither, so no
        # patch is needed (docs/workflow-versioning.md); those runs' inputs have no key.
        member = [MEMBER_ID.value_unset()]
        if self._start.member_key:
            member.append(MEMBER_KEY.value_set(self._start.member_key))
        workflow.upsert_search_attributes(
            [*member, ASSIGNEE_ID.value_set(self._assignee), FOLLOW_UP_STATUS.value_set(status)]
        )
