"""What the store returns: plain pydantic models, detached from any session.

They serialise as they are in API answers and Temporal payloads. Personal data (message text,
phone numbers) is excluded from reprs so it never reaches a log line by accident."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from contracts.vocabulary import RequestState


class ContactRequestRecord(BaseModel):
    """A Contact Us request as the queue shows it.

    ``state`` is the effective state: a claim past ``claimed_until`` reads as ``queued``.
    """

    request_id: str
    member_id: str
    channel: str
    subject: str
    message: str = Field(repr=False)
    department: str | None = None
    callback_phone: str | None = Field(default=None, repr=False)
    callback_method: str | None = None
    in_reply_to: str | None = None
    submitted_at: datetime
    state: RequestState
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    replied_at: datetime | None = None
    updated_at: datetime


class SecureMessageRecord(BaseModel):
    """A reply in the member's secure message centre."""

    message_id: str
    member_id: str
    request_id: str
    subject: str
    body: str = Field(repr=False)
    sent_by_employee_id: str
    sent_at: datetime
