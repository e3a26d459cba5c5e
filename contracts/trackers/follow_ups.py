"""Inputs, results, state and activity messages of ``FollowUpWorkflow``.

A follow-up is one employee's promise to get back to a member by a date (docs/operations.md). Its
workflow notifies the assignee, reminds on the due date, escalates when overdue and serves the
desk's complete / reassign / add-note actions. Everything here is a pydantic model: no I/O, and
no ``default_factory`` reading clocks or random sources (models are built inside workflows).

Summaries, ids and codes only travel in notifications and search attributes; the member's own
words stay in the Tracker.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from contracts.platform.operations import DEFAULT_TIME_ZONE
from contracts.trackers.messages import EmployeeNotification
from contracts.trackers.sales_leads import SalesOutcome
from contracts.vocabulary import Code2, DueDate, EmployeeId, FollowUpState, NoteText, Role

SUMMARY_MAX = 200


class FollowUpPolicySnapshot(BaseModel):
    """The follow-up policy in force when the follow-up opened (``OpsConfig.follow_ups``).

    A snapshot, not a reference: changing the configuration later does not move the timers of
    follow-ups already running.
    """

    reminder_on_due_date: bool = True
    """Send ``followup-due`` to the assignee at the start of the due date."""
    overdue_after_days: Annotated[int, Field(ge=0, le=365)] = 1
    """Days after the due date (start of day) at which ``followup-overdue`` goes out."""
    escalate_to_supervisor: bool = True
    """Also send ``followup-overdue`` to the assignee's supervisor, when there is one."""
    time_zone: str = DEFAULT_TIME_ZONE
    """IANA time zone in which "the due date" starts (the credit union's local time)."""


class FollowUpInput(BaseModel):
    """Start input of ``FollowUpWorkflow`` (workflow id ``follow-up-{follow_up_id}``).

    The follow-up row already exists in the Tracker store when the workflow starts.
    """

    follow_up_id: str = Field(min_length=1, max_length=64)
    member_id: str
    member_key: str | None = None
    """The ``MemberKey`` search attribute (keyed hash of ``member_id``), computed by the activity
    that builds this input: workflows hold no key. None in inputs recorded before it existed."""
    tracker_id: str
    conversation_id: str
    """The conversation the follow-up hangs off."""
    assignee_employee_id: EmployeeId
    assigned_by: str
    """Employee id or partner code."""
    due_on: DueDate
    """Range-checked: the deadlines are computed from it in a local activity."""
    summary: str = ""
    """A short line for notifications (truncated to 200 characters); never the member's text."""
    policy: FollowUpPolicySnapshot = Field(default_factory=FollowUpPolicySnapshot)
    memo_type: str | None = None
    """Memo type of the notes this workflow writes (default: the conversation's memo type)."""
    parent_follow_up_id: str | None = None
    """The follow-up this one continues (opened by ``add_note`` with a next follow-up)."""

    @field_validator("summary", mode="before")
    @classmethod
    def _short_summary(cls, value: object) -> object:
        # Callers pass whatever note came with the assignment: keep the first line, shortened,
        # rather than failing a workflow start over a long note.
        if isinstance(value, str):
            first = value.strip().splitlines()[0] if value.strip() else ""
            return first[: SUMMARY_MAX - 3] + "..." if len(first) > SUMMARY_MAX else first
        return value


class Reassignment(BaseModel):
    """One reassignment: who, when, from, to (docs/http-api.md, 'Follow-ups')."""

    at: datetime
    from_employee_id: str
    to_employee_id: str
    by_employee_id: str
    note: str | None = Field(default=None, repr=False)


class FollowUpView(BaseModel):
    """The follow-up as its workflow sees it (the ``view`` Query).

    ``overdue`` is derived, never stored: outstanding and past the end of the due date in the
    policy's time zone, as of the workflow's latest event.
    """

    follow_up_id: str
    member_id: str
    tracker_id: str
    conversation_id: str
    assignee_employee_id: str
    assigned_by: str
    due_on: date
    summary: str
    status: FollowUpState
    overdue: bool
    history: list[Reassignment] = Field(default_factory=list)
    completed_by: str | None = None
    completed_at: datetime | None = None
    next_follow_up_id: str | None = None
    parent_follow_up_id: str | None = None


class CompleteInput(BaseModel):
    """``complete`` Update: the caller (from the bearer token) and an optional closing note."""

    employee_id: EmployeeId
    role: Role = Role.EMPLOYEE
    note: NoteText | None = Field(default=None, repr=False)
    outcome: SalesOutcome | None = None
    """A sales lead's outcome (``POST /sales-leads/{id}/outcome``): named in the closing note
    and stored with the completion. None for every other completion."""


class ReassignInput(BaseModel):
    """``reassign`` Update: hand the follow-up to another known employee."""

    employee_id: EmployeeId
    role: Role = Role.EMPLOYEE
    assignee_employee_id: EmployeeId
    note: NoteText | None = Field(default=None, repr=False)


class NextFollowUp(BaseModel):
    """The follow-up that replaces the current one."""

    assignee_employee_id: EmployeeId
    due_on: DueDate


class AddNoteInput(BaseModel):
    """``add_note`` Update: a conversation note; with ``next_follow_up`` this one completes."""

    employee_id: EmployeeId
    role: Role = Role.EMPLOYEE
    note: NoteText = Field(repr=False)
    memo_type: Code2 | None = None
    next_follow_up: NextFollowUp | None = None


class AddNoteResult(BaseModel):
    """Where the note landed and what it did to the follow-up."""

    conversation_id: str
    completed: bool
    next_follow_up_id: str | None = None


class FollowUpResult(BaseModel):
    """What ``FollowUpWorkflow`` returns once the follow-up is completed."""

    follow_up_id: str
    status: FollowUpState
    assignee_employee_id: str
    completed_by: str | None = None
    completed_at: datetime | None = None
    next_follow_up_id: str | None = None
    reassignments: int = 0


# --- activity messages ------------------------------------------------------------------------


class DeadlineRequest(BaseModel):
    """Which instants a due date means in a time zone."""

    due_on: date
    overdue_after_days: int
    time_zone: str = DEFAULT_TIME_ZONE


class FollowUpDeadlines(BaseModel):
    """Start-of-day instants (timezone-aware) computed from a due date."""

    due_at: datetime
    """Start of the due date: the reminder."""
    overdue_from: datetime
    """Start of the day after the due date: from here the follow-up reads as overdue."""
    escalate_at: datetime
    """Start of ``due_on + overdue_after_days``: the overdue notice."""


class EmployeeNotice(EmployeeNotification):
    """One notification to send: its message data plus the CloudEvent's id, type and time."""

    event_id: str
    """Deterministic (workflow id + step + recipient), so a retried send de-duplicates."""
    notice_type: str
    at: datetime

    def notification(self) -> EmployeeNotification:
        """The message data as published (without the envelope's fields)."""
        return EmployeeNotification.model_validate(
            self.model_dump(include=set(EmployeeNotification.model_fields))
        )


class EmployeeLookup(BaseModel):
    """An employee id to check or look up."""

    employee_id: str


class FollowUpNote(BaseModel):
    """A conversation note written in the follow-up's Tracker, in its thread."""

    follow_up_id: str
    tracker_id: str
    conversation_id: str
    """The follow-up's own conversation (its memo type is the default)."""
    memo_type: str | None = None
    employee_id: str
    text: str = Field(repr=False)
    idempotency_key: str
    at: datetime


class NoteWritten(BaseModel):
    """Where a note landed."""

    tracker_id: str
    conversation_id: str


class CompleteStep(BaseModel):
    """Mark the follow-up completed in the store, then write the closing note (if any)."""

    follow_up_id: str
    employee_id: str
    idempotency_key: str
    at: datetime
    note: FollowUpNote | None = None
    outcome: SalesOutcome | None = None
    """Stored on the row in the transaction that completes it (a sales lead's outcome)."""


class ReassignStep(BaseModel):
    """Record a reassignment in the store (with its history entry), then its note."""

    follow_up_id: str
    to_employee_id: str
    by_employee_id: str
    idempotency_key: str
    at: datetime
    reason: str | None = Field(default=None, repr=False)
    note: FollowUpNote


class OpenNextFollowUp(BaseModel):
    """Open the follow-up row that continues this one, on the note just written."""

    follow_up_id: str
    """The new follow-up's id (from ``workflow.uuid4()``)."""
    parent_follow_up_id: str
    conversation_id: str
    assignee_employee_id: str
    assigned_by: str
    due_on: date
    idempotency_key: str


class OpenedFollowUp(BaseModel):
    """The row the store opened."""

    follow_up_id: str
    member_id: str
    tracker_id: str
    conversation_id: str
    assignee_employee_id: str
    due_on: date
