"""``ContactRequestWorkflow``: one Contact Us request from queue to reply or deletion."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from contracts.contacts.activities import (
    CopyToTracker,
    DeliverReply,
    OpenFollowUp,
    StateChange,
    TrackerWrite,
)
from contracts.contacts.messages import ContactSubmitted
from contracts.contacts.workflow import (
    ContactRequestInput,
    ContactRequestView,
    EmployeeAction,
    ReplyInput,
    ReplyResult,
)
from contracts.platform.directory import DirectoryAnswer, DirectoryEntry
from contracts.platform.permissions import Action, Relation
from contracts.platform.relations import request_relations as relations_of_request
from contracts.trackers.follow_ups import EmployeeLookup, FollowUpInput
from contracts.vocabulary import Refusal, RequestState, Role
from workflows.directory import check_in_directory
from workflows.policies import LOOKUP_TIMEOUT, WRITE_RETRY, WRITE_TIMEOUT, refused
from workflows.search_attributes import CLAIMED_BY, DEPARTMENT, MEMBER_KEY, REQUEST_STATE

with workflow.unsafe.imports_passed_through():
    from workers.contacts.activities import ContactActivities
    from workers.trackers.activities import FollowUpActivities
    from workflows.trackers.follow_up_steps import start_follow_up_child


DIRECTORY_CHECK_PATCH = "contact-request-directory-check"
"""``workflow.patched`` id: every Update handler re-checks the acting employee against the
employee directory (``look_up_directory``) before it changes anything.

Asked where the check happens, not first thing in ``run``: a run started before the change
takes the check from its first Update handled by new code on (that is the point of it), while
a run whose earlier Updates ran unchecked replays them without it (docs/workflow-versioning.md).
"""


@workflow.defn
class ContactRequestWorkflow:
    """queued → claimed (the claim lapses) / released → replied or deleted."""

    @workflow.init
    def __init__(self, start: ContactRequestInput) -> None:
        self._start = start
        request = start.request
        self._view = ContactRequestView(
            request_id=request.request_id,
            member_id=request.member_id,
            subject=request.subject,
            department=request.department,
            state=RequestState.QUEUED,
            submitted_at=request.submitted_at,
        )
        # Updates run as concurrent tasks; the lock keeps one state change at a time.
        self._lock = asyncio.Lock()
        self._stored = False
        self._version = 0

    @staticmethod
    def initial_search_attributes(
        request: ContactSubmitted, member_key: str
    ) -> TypedSearchAttributes:
        """Member (by ``MemberKey``, the keyed hash the starter computed), department and state:
        never the member number or the message text."""
        return TypedSearchAttributes(
            [
                SearchAttributePair(MEMBER_KEY, member_key),
                SearchAttributePair(DEPARTMENT, request.department or "NONE"),
                SearchAttributePair(REQUEST_STATE, RequestState.QUEUED.value),
            ]
        )

    @workflow.run
    async def run(self, start: ContactRequestInput) -> ContactRequestView:
        """Store the request, then serve claims until it is replied or deleted."""
        await workflow.execute_activity_method(
            ContactActivities.store_request,
            start,
            start_to_close_timeout=WRITE_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        self._stored = True
        while not self._view.state.is_final:
            # Every state change bumps the version, so a wait ends on any claim, release or
            # re-claim (which restarts the claim's clock).
            version = self._version
            if self._view.state is RequestState.CLAIMED and self._view.claimed_until is not None:
                remaining = self._view.claimed_until - workflow.now()
                try:
                    # A durable timer: the claim lapses even if every worker restarts.
                    await workflow.wait_condition(
                        partial(self._changed_since, version),
                        timeout=max(remaining, timedelta(seconds=0)),
                    )
                except TimeoutError:
                    async with self._lock:
                        if self._version == version:
                            await self._set_state(RequestState.QUEUED, None)
            else:
                await workflow.wait_condition(partial(self._changed_since, version))
        # Let in-flight Update handlers finish before the workflow completes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view

    def _changed_since(self, version: int) -> bool:
        return self._version != version

    async def _set_state(self, state: RequestState, claimed_by: str | None) -> None:
        now = workflow.now()
        claimed_until = None
        if state is RequestState.CLAIMED:
            claimed_until = now + timedelta(seconds=self._start.options.claim_timeout_seconds)
        await workflow.execute_activity_method(
            ContactActivities.record_state,
            StateChange(
                request_id=self._view.request_id,
                state=state,
                claimed_by=claimed_by,
                claimed_until=claimed_until,
                at=now,
            ),
            start_to_close_timeout=WRITE_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        self._version += 1
        self._view.state = state
        self._view.claimed_by = claimed_by
        self._view.claimed_until = claimed_until
        workflow.upsert_search_attributes(
            [REQUEST_STATE.value_set(state.value), CLAIMED_BY.value_set(claimed_by or "")]
        )

    def _check_open(self) -> None:
        if self._view.state.is_final:
            raise refused(
                f"request {self._view.request_id} is already {self._view.state.value}",
                Refusal.CONFLICT,
            )

    def _check_claimable(self, employee_id: str) -> None:
        self._check_open()
        if self._view.state is RequestState.CLAIMED and self._view.claimed_by != employee_id:
            raise refused(
                f"request {self._view.request_id} is claimed by {self._view.claimed_by}",
                Refusal.CONFLICT,
            )

    # Updates, not Signals: the desk needs an immediate yes or no (someone else claimed it,
    # already answered). Validators reject before anything is written to history; handlers
    # re-check under the lock because two Updates can pass validation in the same task.
    @workflow.update
    async def claim(self, action: EmployeeAction) -> ContactRequestView:
        """Take the request out of every other employee's queue."""
        async with self._lock:
            self._check_claimable(action.employee_id)
            await self._authorize(Action.CLAIM_REQUEST, action.employee_id)
            await workflow.wait_condition(lambda: self._stored)
            await self._set_state(RequestState.CLAIMED, action.employee_id)
            return self._view

    @claim.validator
    def _validate_claim(self, action: EmployeeAction) -> None:
        self._check_claimable(action.employee_id)

    @workflow.update
    async def release(self, action: EmployeeAction) -> ContactRequestView:
        """Put a claimed request back in the queue (the claimant or a supervisor)."""
        async with self._lock:
            self._check_release(action)
            await self._authorize(Action.RELEASE_REQUEST, action.employee_id)
            await self._set_state(RequestState.QUEUED, None)
            return self._view

    @release.validator
    def _validate_release(self, action: EmployeeAction) -> None:
        self._check_release(action)

    def _check_release(self, action: EmployeeAction) -> None:
        # ``action.role`` only lets a validator turn an employee away early; what counts is
        # the directory check in the handler (``_authorize``).
        self._check_open()
        if self._view.state is not RequestState.CLAIMED:
            raise refused("request is not claimed", Refusal.CONFLICT)
        if self._view.claimed_by != action.employee_id and action.role != Role.SUPERVISOR:
            raise refused(f"request is claimed by {self._view.claimed_by}", Refusal.FORBIDDEN)

    @workflow.update
    async def reply(self, reply: ReplyInput) -> ReplyResult:
        """Send the reply, copy request + reply to the Tracker, optionally open a follow-up."""
        async with self._lock:
            self._check_claimable(reply.employee_id)
            self._check_replies_allowed()
            await self._authorize(Action.REPLY_REQUEST, reply.employee_id)
            await workflow.wait_condition(lambda: self._stored)
            result = await self._deliver(reply)
            self._view.reply = result
            await self._set_state(RequestState.REPLIED, self._view.claimed_by)
            return result

    @reply.validator
    def _validate_reply(self, reply: ReplyInput) -> None:
        self._check_claimable(reply.employee_id)
        self._check_replies_allowed()

    def _check_replies_allowed(self) -> None:
        if not self._start.options.replies_allowed:
            raise refused("replies are turned off for Private Contacts", Refusal.FORBIDDEN)

    async def _deliver(self, reply: ReplyInput) -> ReplyResult:
        request_id = self._view.request_id
        # Ids come from the workflow's deterministic uuid so a replayed task reuses them.
        message_id = str(workflow.uuid4())
        if reply.follow_up is not None:
            # The same check a follow-up runs before it is handed to someone.
            await workflow.execute_activity_method(
                FollowUpActivities.check_follow_up_assignee,
                EmployeeLookup(employee_id=reply.follow_up.assignee_employee_id),
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
        await workflow.execute_activity_method(
            ContactActivities.deliver_reply,
            DeliverReply(
                request=self._start,
                message_id=message_id,
                employee_id=reply.employee_id,
                body=reply.body,
                sent_at=workflow.now(),
            ),
            start_to_close_timeout=WRITE_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        result = ReplyResult(
            request_id=request_id, state=RequestState.REPLIED, message_id=message_id
        )
        copy = reply.copy_to_tracker and self._start.options.copy_to_tracker
        if not copy and reply.follow_up is None:
            return result
        written: TrackerWrite = await workflow.execute_activity_method(
            ContactActivities.copy_to_tracker,
            CopyToTracker(
                request=self._start,
                employee_id=reply.employee_id,
                reply_body=reply.body,
                idempotency_key=f"contact-request-{request_id}/conversation",
            ),
            start_to_close_timeout=WRITE_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        result.tracker_id = written.tracker_id
        result.conversation_id = written.conversation_id
        if reply.follow_up is not None:
            result.follow_up_id = await self._open_follow_up(reply, written)
        return result

    async def _open_follow_up(self, reply: ReplyInput, written: TrackerWrite) -> str:
        assert reply.follow_up is not None
        follow_up_id = str(workflow.uuid4())
        follow_up: FollowUpInput = await workflow.execute_activity_method(
            ContactActivities.open_follow_up,
            OpenFollowUp(
                follow_up_id=follow_up_id,
                member_id=self._view.member_id,
                tracker_id=written.tracker_id,
                conversation_id=written.conversation_id,
                assigned_by=reply.employee_id,
                follow_up=reply.follow_up,
            ),
            start_to_close_timeout=WRITE_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        await start_follow_up_child(follow_up)
        return follow_up_id

    @workflow.update
    async def delete(self, action: EmployeeAction) -> ContactRequestView:
        """Remove the request from the queue; no Tracker is written."""
        async with self._lock:
            if workflow.patched(DIRECTORY_CHECK_PATCH):
                # A supervisor may delete their reports' and departments' claimed requests
                # (the table decides); the claim alone no longer says no.
                self._check_open()
                await self._authorize(Action.DELETE_REQUEST, action.employee_id)
            else:
                self._check_claimable(action.employee_id)
            await workflow.wait_condition(lambda: self._stored)
            await self._set_state(RequestState.DELETED, action.employee_id)
            return self._view

    @delete.validator
    def _validate_delete(self, action: EmployeeAction) -> None:
        # Read-only and without the directory: only what the arguments already rule out.
        self._check_open()
        if self._view.claimed_by != action.employee_id and action.role != Role.SUPERVISOR:
            raise refused(
                f"deleting request {self._view.request_id} needs your claim or a supervisor",
                Refusal.FORBIDDEN,
            )

    async def _authorize(self, action: Action, employee_id: str) -> None:
        """Refuse (Forbidden) unless the directory's ``employee_id`` may take ``action``."""
        if not workflow.patched(DIRECTORY_CHECK_PATCH):
            return
        claimed_by = self._view.claimed_by if self._view.state is RequestState.CLAIMED else None
        department = self._view.department

        def relations(actor: DirectoryEntry, answer: DirectoryAnswer) -> frozenset[Relation]:
            return relations_of_request(actor, department, claimed_by, answer.get(claimed_by))

        await check_in_directory(action, employee_id, [claimed_by], relations)

    @workflow.query
    def view(self) -> ContactRequestView:
        """The request's current state."""
        return self._view
