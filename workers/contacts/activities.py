"""Activities of ``ContactRequestWorkflow``: the queue read model, replies, Tracker copies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from contracts.contacts.activities import (
    CopyToTracker,
    DeliverReply,
    OpenFollowUp,
    StateChange,
    TrackerWrite,
)
from contracts.contacts.messages import MEMBER_MESSAGE, MemberMessage
from contracts.contacts.workflow import ContactRequestInput
from contracts.platform.events import new_event
from contracts.platform.operations import OpsConfig
from contracts.platform.topics import Topics
from contracts.trackers.follow_ups import FollowUpInput, FollowUpPolicySnapshot
from workers.contacts import contact_store as contacts
from workers.platform.clock import local_today
from workers.platform.database import Sessions
from workers.platform.errors import store_refusals
from workers.platform.kafka_client import EventPublisher
from workers.platform.member_search import MemberSearchKey
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers

SOURCE = "/memberflow/private-contacts"


def policy_snapshot(ops: OpsConfig) -> FollowUpPolicySnapshot:
    """The follow-up policy in force now, frozen into a new follow-up's input."""
    policy = ops.follow_ups
    return FollowUpPolicySnapshot(
        reminder_on_due_date=policy.remind_on_due_date,
        overdue_after_days=policy.overdue_escalation_days,
        escalate_to_supervisor=policy.escalate_to_supervisor,
        time_zone=ops.time_zone,
    )


def conversation_text(start: ContactRequestInput, reply_body: str, employee_id: str) -> str:
    """Request and reply as one Tracker conversation (the member's words, then ours)."""
    request = start.request
    lines = [
        f"Private Contact {request.request_id} via {request.channel}"
        + (f" to {request.department}" if request.department else ""),
        f"Subject: {request.subject}",
        f"Member wrote ({request.submitted_at.isoformat()}):",
        request.message,
        "",
        f"Reply from {employee_id}:",
        reply_body,
    ]
    if request.callback_phone:
        lines.insert(2, f"Callback: {request.callback_method} {request.callback_phone}")
    return "\n".join(lines)


class ContactActivities:
    """Activities bound to the store, the Kafka publisher and the configuration.

    Every store call runs under ``store_refusals()``: a refusal or a value the database can
    never hold fails the activity once, not retried, so the Update waiting on it answers (and
    releases the request) instead of waiting for ever. An unreachable database still retries.
    """

    def __init__(
        self,
        sessions: Sessions,
        publisher: EventPublisher,
        topics: Topics,
        ops: OpsConfig,
        search_key: MemberSearchKey,
    ) -> None:
        self._sessions = sessions
        self._publisher = publisher
        self._topics = topics
        self._ops = ops
        self._search_key = search_key

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for the worker."""
        return [
            self.store_request,
            self.record_state,
            self.deliver_reply,
            self.copy_to_tracker,
            self.open_follow_up,
        ]

    @activity.defn
    async def store_request(self, start: ContactRequestInput) -> None:
        """Insert the request into the queue read model (a no-op when already there)."""
        with store_refusals():
            await contacts.upsert_contact_request(self._sessions, start.request)

    @activity.defn
    async def record_state(self, change: StateChange) -> None:
        """Mirror a state change into the queue read model."""
        with store_refusals():
            await contacts.set_contact_state(
                self._sessions,
                change.request_id,
                change.state.value,
                at=change.at,
                claimed_by=change.claimed_by,
                claimed_until=change.claimed_until,
            )

    @activity.defn
    async def deliver_reply(self, reply: DeliverReply) -> None:
        """Store the secure message and publish it on ``member-messages.v1`` (idempotent)."""
        request = reply.request.request
        subject = f"RE: {request.subject}"
        message = MemberMessage(
            message_id=reply.message_id,
            member_id=request.member_id,
            request_id=request.request_id,
            subject=subject,
            body=reply.body,
            sent_by_employee_id=reply.employee_id,
            sent_at=reply.sent_at,
        )
        with store_refusals():
            await contacts.store_secure_message(self._sessions, message)
        event = new_event(
            event_id=f"member-message-{reply.message_id}",
            source=SOURCE,
            event_type=MEMBER_MESSAGE,
            time=reply.sent_at,
            data=message,
            subject=request.member_id,
        )
        await self._publisher.publish(self._topics.member_messages, request.member_id, event)

    @activity.defn
    async def copy_to_tracker(self, copy: CopyToTracker) -> TrackerWrite:
        """One new conversation with request and reply, in the member's Private Contacts Tracker."""
        options = copy.request.options
        # A Tracker or memo type removed from the operations file since the request started
        # is refused here, for good.
        with store_refusals():
            written = await trackers.append_conversation(
                self._sessions,
                self._ops,
                member_id=copy.request.request.member_id,
                tracker_type=options.tracker_type,
                memo_type=options.memo_type,
                employee_id=copy.employee_id,
                text=conversation_text(copy.request, copy.reply_body, copy.employee_id),
                idempotency_key=copy.idempotency_key,
            )
        return TrackerWrite(tracker_id=written.tracker_id, conversation_id=written.conversation_id)

    @activity.defn
    async def open_follow_up(self, request: OpenFollowUp) -> FollowUpInput:
        """Open the follow-up row and return the input of its ``FollowUpWorkflow``."""
        with store_refusals():
            record = await followups.open_follow_up(
                self._sessions,
                idempotency_key=f"follow-up-{request.follow_up_id}",
                follow_up_id=request.follow_up_id,
                conversation_id=request.conversation_id,
                assignee_employee_id=request.follow_up.assignee_employee_id,
                assigned_by=request.assigned_by,
                due_on=request.follow_up.due_on,
                today=local_today(self._ops),
            )
            if request.follow_up.note is not None:
                # The replying employee's word for the assignee, as a note in the follow-up's
                # thread; its own key makes a retried activity write it once.
                await trackers.append_to_tracker(
                    self._sessions,
                    self._ops,
                    tracker_id=request.tracker_id,
                    memo_type=self._ops.private_contacts.memo_type,
                    employee_id=request.assigned_by,
                    text=request.follow_up.note,
                    idempotency_key=f"follow-up-{request.follow_up_id}/note",
                    thread_id=record.thread_id,
                )
        return FollowUpInput(
            follow_up_id=record.id,
            member_id=request.member_id,
            member_key=self._search_key.of(request.member_id),
            tracker_id=request.tracker_id,
            conversation_id=request.conversation_id,
            assignee_employee_id=record.assignee_employee_id,
            assigned_by=request.assigned_by,
            due_on=record.due_on,
            # Codes only, never the employee's note: it may quote the member, and notifications
            # travel to other systems (the note itself is in the Tracker).
            summary=f"Private Contact reply from {request.assigned_by} needs a follow-up",
            policy=policy_snapshot(self._ops),
            memo_type=self._ops.private_contacts.memo_type,
        )
