"""Activities of ``FollowUpWorkflow``: notifications, Tracker notes and follow-up store writes.

Every write is idempotent: the workflow passes a key derived from its id and the step, so a
retried activity (or a replayed workflow task) never writes twice, and every notification's
CloudEvent id is derived the same way, so consumers drop a re-sent one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.platform.events import new_event
from contracts.platform.operations import OpsConfig
from contracts.platform.topics import Topics
from contracts.trackers.follow_ups import (
    CompleteStep,
    DeadlineRequest,
    EmployeeLookup,
    EmployeeNotice,
    FollowUpDeadlines,
    FollowUpNote,
    NoteWritten,
    OpenedFollowUp,
    OpenNextFollowUp,
    ReassignStep,
)
from contracts.vocabulary import Refusal
from workers.platform import employees
from workers.platform.clock import local_today
from workers.platform.database import Sessions
from workers.platform.errors import store_refusals
from workers.platform.kafka_client import EventPublisher
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers
from workers.trackers.conversation_writes import NoteOrigin, note_origin
from workers.trackers.sales_leads import check_lead_type

SOURCE = "/memberflow/follow-ups"


def deadlines(request: DeadlineRequest) -> FollowUpDeadlines:
    """The start-of-day instants of a due date in a time zone, in UTC.

    An unknown time zone falls back to UTC (the configuration is validated at load time, so
    this only guards a hand-made input) rather than failing a follow-up's whole life.

    Args:
        request: Due date, escalation delay and time zone.

    Returns:
        When the due date starts, when the follow-up becomes overdue and when it escalates.

    Raises:
        ApplicationError: Non-retryable ``ValidationError`` when a deadline falls outside the
            calendar (a due date near 9999-12-31). The edge refuses such dates (``DueDate``);
            this guards a hand-made input, because the local activity computing deadlines
            runs with unlimited retries and an overflow would be retried for ever.
    """
    try:
        zone: ZoneInfo = ZoneInfo(request.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    try:
        return FollowUpDeadlines(
            due_at=start_of(request.due_on),
            overdue_from=start_of(request.due_on + timedelta(days=1)),
            escalate_at=start_of(request.due_on + timedelta(days=request.overdue_after_days)),
        )
    except OverflowError:
        raise ApplicationError(
            f"due date {request.due_on.isoformat()} is outside the range deadlines can be "
            "computed for",
            type=Refusal.VALIDATION.value,
            non_retryable=True,
        ) from None


@activity.defn
async def follow_up_deadlines(request: DeadlineRequest) -> FollowUpDeadlines:
    """Activity form of :func:`deadlines` (time zone data is not readable in the sandbox).

    Args:
        request: Due date, escalation delay and time zone.

    Returns:
        The deadlines in UTC.
    """
    return deadlines(request)


class FollowUpActivities:
    """Follow-up activities bound to the store, the Kafka publisher and the configuration."""

    def __init__(
        self,
        session_factory: Sessions,
        publisher: EventPublisher,
        topics: Topics,
        ops_config: OpsConfig,
    ) -> None:
        """Bind the activities to their dependencies.

        Args:
            session_factory: Tracker store sessions.
            publisher: The idempotent Kafka publisher (started by the caller).
            topics: Topic names.
            ops_config: Operations configuration (employees and supervisors).
        """
        self._sessions = session_factory
        self._publisher = publisher
        self._topics = topics
        self._ops = ops_config

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for the worker (the deadline calculator included)."""
        return [
            follow_up_deadlines,
            self.notify_follow_up_employee,
            self.check_follow_up_assignee,
            self.find_supervisor,
            self.append_follow_up_note,
            self.complete_follow_up,
            self.reassign_follow_up,
            self.open_next_follow_up,
        ]

    @activity.defn
    async def notify_follow_up_employee(self, notice: EmployeeNotice) -> None:
        """Publish one ``cu.employee.followup-*.v1`` on employee-notifications (key: employee).

        Args:
            notice: The notification; its ``event_id`` is deterministic, so a retry re-sends the
                same event and consumers de-duplicate it.
        """
        data = notice.notification()
        event = new_event(
            event_id=notice.event_id,
            source=SOURCE,
            event_type=notice.notice_type,
            time=notice.at,
            data=data,
            subject=notice.member_id,
        )
        await self._publisher.publish(
            self._topics.employee_notifications, notice.employee_id, event
        )
        activity.logger.info(
            "sent %s to %s for follow-up %s",
            notice.notice_type,
            notice.employee_id,
            notice.follow_up_id,
        )

    @activity.defn
    async def check_follow_up_assignee(self, lookup: EmployeeLookup) -> None:
        """Fail, not retried, with type ``UnknownEmployee`` when the employee does not exist.

        Args:
            lookup: The employee to check.
        """
        with store_refusals():
            known = await employees.get_employee(self._sessions, lookup.employee_id)
        if known is None:
            raise ApplicationError(
                f"{lookup.employee_id} is not a known employee",
                type=Refusal.UNKNOWN_EMPLOYEE.value,
                non_retryable=True,
            )

    @activity.defn
    async def find_supervisor(self, lookup: EmployeeLookup) -> str | None:
        """The supervisor of an employee (store first, then the configuration), or None.

        Args:
            lookup: The employee.

        Returns:
            The supervisor's employee id, or None when there is none.
        """
        with store_refusals():
            record = await employees.get_employee(self._sessions, lookup.employee_id)
        if record is not None and record.supervisor_id:
            return record.supervisor_id
        configured = self._ops.employee(lookup.employee_id)
        return configured.supervisor_id if configured is not None else None

    @activity.defn
    async def append_follow_up_note(self, note: FollowUpNote) -> NoteWritten:
        """Add an immutable conversation note to the follow-up's Tracker, in its thread.

        Args:
            note: The note; without a memo type it takes the follow-up conversation's.

        Returns:
            Where it landed (the same conversation again on a retry).
        """
        return await self._append(note)

    async def _origin(self, note: FollowUpNote) -> NoteOrigin:
        origin = await note_origin(self._sessions, note.conversation_id)
        if origin is None:
            raise ApplicationError(
                f"conversation {note.conversation_id} not found",
                type=Refusal.NOT_FOUND.value,
                non_retryable=True,
            )
        return origin

    async def _append(self, note: FollowUpNote) -> NoteWritten:
        with store_refusals():
            origin = await self._origin(note)
            record = await followups.get_follow_up(
                self._sessions, note.follow_up_id, today=local_today(self._ops)
            )
            # A thread note carries its follow-up conversation's Need Group and Task: on a
            # cross-sales type every note needs them, and the note is about the same sale.
            written = await trackers.append_to_tracker(
                self._sessions,
                self._ops,
                # The conversation's Tracker now, not the one the workflow started with: a
                # consolidation may have moved the conversation and removed that Tracker.
                tracker_id=origin.tracker_id,
                memo_type=note.memo_type or origin.memo_type,
                employee_id=note.employee_id,
                text=note.text,
                idempotency_key=note.idempotency_key,
                need_group=origin.need_group,
                task=origin.task,
                thread_id=record.thread_id if record is not None else note.follow_up_id,
                at=note.at,
            )
        return NoteWritten(tracker_id=written.tracker_id, conversation_id=written.conversation_id)

    @activity.defn
    async def complete_follow_up(self, step: CompleteStep) -> None:
        """Check the closing note, mark the follow-up completed, then write the note.

        Args:
            step: Who completed it, when, under which key, and the note to write.
        """
        with store_refusals():
            if step.note is not None:
                # Refuse before the row changes: a note refused after the completion would
                # leave the row completed and the workflow outstanding (422, then 409).
                origin = await self._origin(step.note)
                trackers.check_conversation(
                    self._ops,
                    origin.tracker_type,
                    step.note.memo_type or origin.memo_type,
                    origin.need_group,
                    origin.task,
                    step.note.text,
                )
                if step.outcome is not None:
                    check_lead_type(self._ops, step.follow_up_id, origin.tracker_type)
            await followups.complete_follow_up(
                self._sessions,
                step.follow_up_id,
                by_employee_id=step.employee_id,
                idempotency_key=step.idempotency_key,
                at=step.at,
                today=local_today(self._ops),
                outcome=step.outcome,
            )
        if step.note is not None:
            await self._append(step.note)

    @activity.defn
    async def reassign_follow_up(self, step: ReassignStep) -> None:
        """Reassign in the store (keeping who, when, from, to), then write the note.

        Args:
            step: The new assignee, who reassigned it, when, under which key, and the note.
        """
        with store_refusals():
            await followups.reassign_follow_up(
                self._sessions,
                step.follow_up_id,
                to_employee_id=step.to_employee_id,
                by_employee_id=step.by_employee_id,
                idempotency_key=step.idempotency_key,
                note=step.reason,
                at=step.at,
                today=local_today(self._ops),
            )
        await self._append(step.note)

    @activity.defn
    async def open_next_follow_up(self, request: OpenNextFollowUp) -> OpenedFollowUp:
        """Open the follow-up row that continues another one (it joins that thread).

        Args:
            request: The new follow-up's id, conversation, assignee and due date.

        Returns:
            The opened row.
        """
        with store_refusals():
            record = await followups.open_follow_up(
                self._sessions,
                idempotency_key=request.idempotency_key,
                follow_up_id=request.follow_up_id,
                conversation_id=request.conversation_id,
                assignee_employee_id=request.assignee_employee_id,
                assigned_by=request.assigned_by,
                due_on=request.due_on,
                parent_follow_up_id=request.parent_follow_up_id,
                today=local_today(self._ops),
            )
        return OpenedFollowUp(
            follow_up_id=record.id,
            member_id=record.member_id,
            tracker_id=record.tracker_id,
            conversation_id=record.conversation_id,
            assignee_employee_id=record.assignee_employee_id,
            due_on=record.due_on,
        )
