"""``ContactRequestWorkflow`` on the time-skipping server with in-memory fake activities."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

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
    EmployeeAction,
    FollowUpRequest,
    PrivateContactsOptions,
    ReplyInput,
)
from contracts.trackers.follow_ups import EmployeeLookup, FollowUpInput
from contracts.vocabulary import RequestState, Role
from tests.workflow.fake_directory import fake_look_up_directory
from workflows.contacts.contact_request import ContactRequestWorkflow

pytestmark = [pytest.mark.workflow, pytest.mark.asyncio(loop_scope="session")]

KNOWN = {"SR", "JD", "MG"}


@dataclass
class FakeContactActivities:
    """Records every call under the real activity names."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    children: list[str] = field(default_factory=list)

    @activity.defn(name="store_request")
    async def store_request(self, start: ContactRequestInput) -> None:
        self.calls.append(("store_request", start.request.request_id))

    @activity.defn(name="record_state")
    async def record_state(self, change: StateChange) -> None:
        self.calls.append(("record_state", (change.state.value, change.claimed_by)))

    @activity.defn(name="check_follow_up_assignee")
    async def check_follow_up_assignee(self, lookup: EmployeeLookup) -> None:
        if lookup.employee_id not in KNOWN:
            raise ApplicationError("unknown", type="UnknownEmployee", non_retryable=True)

    @activity.defn(name="deliver_reply")
    async def deliver_reply(self, reply: DeliverReply) -> None:
        self.calls.append(("deliver_reply", reply.message_id))

    @activity.defn(name="copy_to_tracker")
    async def copy_to_tracker(self, copy: CopyToTracker) -> TrackerWrite:
        self.calls.append(("copy_to_tracker", copy.idempotency_key))
        return TrackerWrite(tracker_id="t1", conversation_id="c1")

    @activity.defn(name="open_follow_up")
    async def open_follow_up(self, request: OpenFollowUp) -> FollowUpInput:
        self.calls.append(("open_follow_up", request.follow_up.assignee_employee_id))
        self.children.append(f"follow-up-{request.follow_up_id}")
        return FollowUpInput(
            follow_up_id=request.follow_up_id,
            member_id=request.member_id,
            tracker_id=request.tracker_id,
            conversation_id=request.conversation_id,
            assignee_employee_id=request.follow_up.assignee_employee_id,
            assigned_by=request.assigned_by,
            due_on=request.follow_up.due_on,
        )

    def all(self) -> list[Any]:
        return [
            self.store_request,
            self.record_state,
            self.check_follow_up_assignee,
            self.deliver_reply,
            self.copy_to_tracker,
            self.open_follow_up,
            fake_look_up_directory,
        ]

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def start_input(claim_timeout: int = 1800, replies_allowed: bool = True) -> ContactRequestInput:
    request = ContactSubmitted(
        request_id=f"r-{uuid.uuid4().hex[:8]}",
        member_id="104729",
        channel="online",
        subject="Loan question",
        message="private words",
        department="LOANS",
        submitted_at=datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
    )
    return ContactRequestInput(
        event_id="e1",
        request=request,
        options=PrivateContactsOptions(
            claim_timeout_seconds=claim_timeout, replies_allowed=replies_allowed
        ),
    )


@asynccontextmanager
async def running(
    env: WorkflowEnvironment, start: ContactRequestInput
) -> AsyncIterator[tuple[WorkflowHandle[Any, Any], FakeContactActivities]]:
    fakes = FakeContactActivities()
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    # Follow-up children are not run here: their own tests cover them.
    async with Worker(
        env.client, task_queue=queue, workflows=[ContactRequestWorkflow], activities=fakes.all()
    ):
        handle = await env.client.start_workflow(
            ContactRequestWorkflow.run,
            start,
            id=f"contact-request-{start.request.request_id}",
            task_queue=queue,
            search_attributes=ContactRequestWorkflow.initial_search_attributes(
                start.request, "member-key-of-the-test"
            ),
        )
        try:
            yield handle, fakes
        finally:
            # A workflow left waiting on a queue without a worker would stall time skipping
            # for the tests that follow.
            for workflow_id in [handle.id, *fakes.children]:
                with contextlib.suppress(Exception):
                    await env.client.get_workflow_handle(workflow_id).terminate("test over")


async def test_claim_lapses_after_the_timeout(time_skipping_env: WorkflowEnvironment) -> None:
    async with running(time_skipping_env, start_input(claim_timeout=1800)) as (handle, fakes):
        view = await handle.execute_update(
            ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR")
        )
        assert view.state is RequestState.CLAIMED and view.claimed_by == "SR"
        await time_skipping_env.sleep(timedelta(minutes=29))
        assert (await handle.query(ContactRequestWorkflow.view)).state is RequestState.CLAIMED
        await time_skipping_env.sleep(timedelta(minutes=2))
        after = await handle.query(ContactRequestWorkflow.view)
        assert after.state is RequestState.QUEUED and after.claimed_by is None
        assert ("record_state", ("queued", None)) in fakes.calls
        # Once lapsed, another employee can claim it.
        view = await handle.execute_update(
            ContactRequestWorkflow.claim, EmployeeAction(employee_id="JD")
        )
        assert view.claimed_by == "JD"


async def test_claimed_by_another_is_a_conflict(time_skipping_env: WorkflowEnvironment) -> None:
    async with running(time_skipping_env, start_input()) as (handle, _):
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(
                ContactRequestWorkflow.claim, EmployeeAction(employee_id="JD")
            )
        assert isinstance(caught.value.cause, ApplicationError)
        assert caught.value.cause.type == "Conflict"


async def test_reply_delivers_copies_and_opens_follow_up(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with running(time_skipping_env, start_input()) as (handle, fakes):
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        result = await handle.execute_update(
            ContactRequestWorkflow.reply,
            ReplyInput(
                employee_id="SR",
                body="Here is your answer",
                follow_up=FollowUpRequest(assignee_employee_id="JD", due_on=date(2026, 12, 1)),
            ),
        )
        assert result.state is RequestState.REPLIED
        assert (result.tracker_id, result.conversation_id) == ("t1", "c1")
        assert result.follow_up_id is not None
        final = await handle.result()
        assert final.state is RequestState.REPLIED
        assert fakes.names()[:2] == ["store_request", "record_state"]
        assert fakes.names()[2:5] == ["deliver_reply", "copy_to_tracker", "open_follow_up"]
        with pytest.raises(Exception):  # noqa: B017 - a finished workflow refuses any Update
            await handle.execute_update(
                ContactRequestWorkflow.reply, ReplyInput(employee_id="SR", body="again")
            )


async def test_reply_without_copy_writes_no_tracker(time_skipping_env: WorkflowEnvironment) -> None:
    async with running(time_skipping_env, start_input()) as (handle, fakes):
        result = await handle.execute_update(
            ContactRequestWorkflow.reply,
            ReplyInput(employee_id="SR", body="Short answer", copy_to_tracker=False),
        )
        assert result.tracker_id is None and result.follow_up_id is None
        assert "copy_to_tracker" not in fakes.names()


async def test_unknown_assignee_fails_the_reply_before_anything_is_sent(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with running(time_skipping_env, start_input()) as (handle, fakes):
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                ContactRequestWorkflow.reply,
                ReplyInput(
                    employee_id="SR",
                    body="x",
                    follow_up=FollowUpRequest(assignee_employee_id="ZZ", due_on=date(2026, 12, 1)),
                ),
            )
        assert "deliver_reply" not in fakes.names()
        assert (await handle.query(ContactRequestWorkflow.view)).state is RequestState.QUEUED


async def test_delete_ends_the_request_without_tracker(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with running(time_skipping_env, start_input()) as (handle, fakes):
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        await handle.execute_update(ContactRequestWorkflow.delete, EmployeeAction(employee_id="SR"))
        assert (await handle.result()).state is RequestState.DELETED
        assert "copy_to_tracker" not in fakes.names()


async def forbidden(handle: WorkflowHandle[Any, Any], update: Any, action: Any) -> str:
    """The refusal message of an Update that must fail with ``Forbidden``."""
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(update, action)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Forbidden", cause
    return cause.message


async def test_the_directory_decides_not_the_role_in_the_update(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    """JD says he is a supervisor: the validator lets him through, the directory does not."""
    async with running(time_skipping_env, start_input()) as (handle, fakes):
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        forged = EmployeeAction(employee_id="JD", role=Role.SUPERVISOR)
        message = await forbidden(handle, ContactRequestWorkflow.release, forged)
        assert message.startswith("JD (employee) may not release this contact request")
        message = await forbidden(handle, ContactRequestWorkflow.delete, forged)
        assert message.startswith("JD (employee) may not delete")
        view = await handle.query(ContactRequestWorkflow.view)
        assert view.state is RequestState.CLAIMED and view.claimed_by == "SR"
        assert fakes.calls.count(("record_state", ("claimed", "SR"))) == 1


async def test_operators_and_strangers_cannot_work_requests(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with running(time_skipping_env, start_input()) as (handle, fakes):
        claim = ContactRequestWorkflow.claim
        assert "OP (operator) may not" in await forbidden(
            handle, claim, EmployeeAction(employee_id="OP")
        )
        assert "ZZ is not an enabled employee" in await forbidden(
            handle, claim, EmployeeAction(employee_id="ZZ", role=Role.SUPERVISOR)
        )
        assert "ZZ is not an enabled employee" in await forbidden(
            handle, ContactRequestWorkflow.reply, ReplyInput(employee_id="ZZ", body="x")
        )
        assert "deliver_reply" not in fakes.names()
        assert (await handle.query(ContactRequestWorkflow.view)).state is RequestState.QUEUED


async def test_deleting_needs_a_claim_or_a_supervisor(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with running(time_skipping_env, start_input()) as (handle, _):
        message = await forbidden(
            handle, ContactRequestWorkflow.delete, EmployeeAction(employee_id="JD")
        )
        assert "needs your claim or a supervisor" in message
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        # MG supervises SR: he may delete SR's claimed request.
        await handle.execute_update(
            ContactRequestWorkflow.delete, EmployeeAction(employee_id="MG", role=Role.SUPERVISOR)
        )
        assert (await handle.result()).state is RequestState.DELETED


async def test_replies_turned_off_are_refused(time_skipping_env: WorkflowEnvironment) -> None:
    async with running(time_skipping_env, start_input(replies_allowed=False)) as (handle, _):
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(
                ContactRequestWorkflow.reply, ReplyInput(employee_id="SR", body="x")
            )
        assert isinstance(caught.value.cause, ApplicationError)
        assert caught.value.cause.type == "Forbidden"


async def test_claiming_again_restarts_the_claim_clock(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with running(time_skipping_env, start_input(claim_timeout=1800)) as (handle, _):
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        await time_skipping_env.sleep(timedelta(minutes=20))
        await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
        await time_skipping_env.sleep(timedelta(minutes=20))
        view = await handle.query(ContactRequestWorkflow.view)
        assert view.state is RequestState.CLAIMED and view.claimed_by == "SR"
        await time_skipping_env.sleep(timedelta(minutes=11))
        assert (await handle.query(ContactRequestWorkflow.view)).state is RequestState.QUEUED
