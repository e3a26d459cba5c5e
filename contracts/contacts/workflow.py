"""Inputs, results and state of ``ContactRequestWorkflow``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from contracts.contacts.messages import ContactSubmitted
from contracts.vocabulary import DueDate, EmployeeId, NoteText, OptionalNote, RequestState, Role


class PrivateContactsOptions(BaseModel):
    """The Private Contacts configuration a request is worked under (snapshot at intake)."""

    replies_allowed: bool = True
    copy_to_tracker: bool = True
    tracker_type: str = "PC"
    memo_type: str = "PC"
    claim_timeout_seconds: int = 1800


class ContactRequestInput(BaseModel):
    """Start input: the validated submission and the event that carried it."""

    event_id: str
    request: ContactSubmitted
    options: PrivateContactsOptions = Field(default_factory=PrivateContactsOptions)


class EmployeeAction(BaseModel):
    """Who acts: the employee behind the bearer token."""

    employee_id: str
    role: Role = Role.EMPLOYEE


class FollowUpRequest(BaseModel):
    """A follow-up to open for another employee together with the reply.

    The due date is range-checked here too: the follow-up's deadline arithmetic runs in a local
    activity that is retried for ever, so a date it cannot handle must never reach it.
    """

    assignee_employee_id: EmployeeId
    due_on: DueDate
    note: OptionalNote = Field(default=None, repr=False)


class ReplyInput(BaseModel):
    """The reply an employee sends to the member (``reply`` Update; stored as a secure message)."""

    employee_id: str
    body: NoteText = Field(repr=False)
    copy_to_tracker: bool = True
    follow_up: FollowUpRequest | None = None


class ReplyResult(BaseModel):
    """What a reply produced (None where nothing was made)."""

    request_id: str
    state: RequestState
    message_id: str
    tracker_id: str | None = None
    conversation_id: str | None = None
    follow_up_id: str | None = None


class ContactRequestView(BaseModel):
    """The workflow's state as the desk sees it (the Query and Update result).

    A Temporal payload: running workflows answer with it, so it changes only in ways old and
    new workers both read. The desk API answers with ``ContactRequestDetail`` instead, which
    adds the member's message from the queue table.
    """

    request_id: str
    member_id: str
    subject: str
    department: str | None
    state: RequestState
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    submitted_at: datetime
    reply: ReplyResult | None = None
