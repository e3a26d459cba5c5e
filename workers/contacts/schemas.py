"""Request and response bodies of the employee desk API (INTERFACES.md §2)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class QueueItem(BaseModel):
    """One row of the Contact Us queue."""

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
    """A request with the member's message and callback details."""

    channel: str
    message: str
    callback_phone: str | None
    callback_method: str | None
    in_reply_to: str | None
    claimed_until: datetime | None


class FollowUpBody(BaseModel):
    """A follow-up to open with a reply."""

    model_config = ConfigDict(extra="forbid")

    assignee_employee_id: str = Field(min_length=1, max_length=16)
    due_on: date
    note: str | None = Field(default=None, max_length=4000)


class ReplyBody(BaseModel):
    """``POST /contact-requests/{id}/reply``."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=4000)
    copy_to_tracker: bool = True
    follow_up: FollowUpBody | None = None


class ReplyAnswer(BaseModel):
    """What a reply produced (null where nothing was made)."""

    request_id: str
    state: str
    message_id: str
    tracker_id: str | None
    conversation_id: str | None
    follow_up_id: str | None
