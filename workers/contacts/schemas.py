"""Request and response bodies of the employee desk API (docs/http-api.md).

A Contact Us request has one shape per boundary and no other:

- ``ContactSubmitted`` (``contracts.contacts.messages``): the Kafka message a member's channel
  sends; versioned with the topic.
- ``ContactRequestView`` (``contracts.contacts.workflow``): what ``ContactRequestWorkflow``
  answers to Queries and Updates; a Temporal payload that running workflows must keep reading.
- ``ContactRequestRow`` (``workers.contacts.tables``): the queue read model's table.
- ``QueueItem`` and ``ContactRequestDetail`` (here): the desk API's answers. The store returns
  ``ContactRequestDetail`` straight from the row; the queue list shows its ``QueueItem`` part.

Member data (message text, phone numbers, reply text) is excluded from reprs so it never
reaches a log line by accident.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts.vocabulary import DueDate, EmployeeId, NoteText, OptionalNote


def _described(text: str) -> ConfigDict:
    """The model's description in the OpenAPI document.

    The docstring says why the class exists, for readers of this code; the API's users keep
    the description they have always had.
    """
    return ConfigDict(json_schema_extra={"description": text})


class QueueItem(BaseModel):
    """HTTP answer: one row of the Contact Us queue (``GET /contact-requests``).

    The list leaves out the member's message and callback details: an employee opens a
    request to see them. ``state`` is a ``RequestState`` value, typed ``str`` because an enum
    here would add a component to the OpenAPI document.
    """

    model_config = _described("One row of the Contact Us queue.")

    request_id: str
    member_id: str
    subject: str
    department: str | None
    state: str
    claimed_by: str | None
    submitted_at: datetime


class QueueList(BaseModel):
    """The queue, oldest first."""

    items: list[QueueItem]


class ContactRequestDetail(QueueItem):
    """HTTP answer: a request with the member's message and callback details.

    Also what the queue store returns (``workers.contacts.contact_store``), built from the row:
    ``state`` is the effective state, a claim past ``claimed_until`` reads as ``queued``.
    """

    model_config = _described("A request with the member's message and callback details.")

    channel: str
    message: str = Field(repr=False)
    callback_phone: str | None = Field(repr=False)
    callback_method: str | None
    in_reply_to: str | None
    claimed_until: datetime | None

    def queue_item(self) -> QueueItem:
        """The request as the queue list shows it (no message or callback details)."""
        return QueueItem.model_validate(self.model_dump(include=set(QueueItem.model_fields)))


class SecureMessage(BaseModel):
    """HTTP answer: a reply in the member's secure message centre (``/members/{id}/messages``).

    What the store returns too. ``MemberMessage`` (``contracts.contacts.messages``) carries the
    same facts on Kafka, but is versioned with its topic, not with this API.
    """

    message_id: str
    member_id: str
    request_id: str
    subject: str
    body: str = Field(repr=False)
    sent_by_employee_id: str
    sent_at: datetime


class FollowUpBody(BaseModel):
    """A follow-up to open with a reply.

    Field rules are the store's and the workflow's (``contracts.vocabulary``), so a body that
    passes here never fails later inside the reply's activities.
    """

    model_config = ConfigDict(extra="forbid")

    assignee_employee_id: EmployeeId
    due_on: DueDate
    note: OptionalNote = Field(default=None, repr=False)


class ReplyBody(BaseModel):
    """``POST /contact-requests/{id}/reply``: the reply is stored as a secure message."""

    model_config = ConfigDict(extra="forbid")

    body: NoteText = Field(repr=False)
    copy_to_tracker: bool = True
    follow_up: FollowUpBody | None = None


class ReplyAnswer(BaseModel):
    """HTTP answer: what a reply produced (null where nothing was made).

    Built from the workflow's ``ReplyResult`` (a Temporal payload, whose fields have defaults);
    here every field is always present.
    """

    model_config = _described("What a reply produced (null where nothing was made).")

    request_id: str
    state: str
    message_id: str
    tracker_id: str | None
    conversation_id: str | None
    follow_up_id: str | None
