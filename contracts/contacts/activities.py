"""Inputs and results of the activities ``ContactRequestWorkflow`` calls."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from contracts.contacts.workflow import ContactRequestInput, FollowUpRequest
from contracts.vocabulary import RequestState


class StateChange(BaseModel):
    """A request's new state for the queue read model."""

    request_id: str
    state: RequestState
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    at: datetime


class DeliverReply(BaseModel):
    """Store the secure message and publish it on ``member-messages.v1``."""

    request: ContactRequestInput
    message_id: str
    employee_id: str
    body: str
    sent_at: datetime


class CopyToTracker(BaseModel):
    """Write request + reply as one new conversation under the Private Contacts Tracker type."""

    request: ContactRequestInput
    employee_id: str
    reply_body: str
    idempotency_key: str


class TrackerWrite(BaseModel):
    """Where a conversation landed."""

    tracker_id: str
    conversation_id: str


class OpenFollowUp(BaseModel):
    """Open a follow-up on a conversation for another employee."""

    follow_up_id: str
    member_id: str
    tracker_id: str
    conversation_id: str
    assigned_by: str
    follow_up: FollowUpRequest
