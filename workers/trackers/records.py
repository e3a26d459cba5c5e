"""What the store returns and the desk API answers with (docs/http-api.md).

Plain pydantic models, detached from any session and validated straight from the rows
(``workers.trackers.rows``); the routes serialise them as they are. The tables
(``workers.trackers.tables``) and the workflow's own ``FollowUpView`` (a Temporal payload,
judged as of the workflow's latest event) are the other shapes, each at its own boundary.
Member data (note text, reassignment notes) is excluded from reprs so it never reaches a log
line by accident."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from pydantic import BaseModel, Field

from contracts.vocabulary import FollowUpStatus


class ConversationRef(NamedTuple):
    """Where a conversation landed (what a Tracker write answers)."""

    tracker_id: str
    conversation_id: str


class FollowUpRecord(BaseModel):
    """HTTP answer: a follow-up (``GET /follow-ups``, and within Trackers and threads).

    ``status`` is derived: outstanding with a due date before the credit union's local today
    is ``overdue``.
    """

    id: str
    conversation_id: str
    member_id: str
    tracker_id: str
    assignee_employee_id: str
    assigned_by: str
    due_on: date
    status: FollowUpStatus
    completed_at: datetime | None = None
    completed_by: str | None = None
    created_at: datetime
    parent_follow_up_id: str | None = None
    thread_id: str


class ConversationRecord(BaseModel):
    """HTTP answer: one Tracker note, with the follow-ups opened on it."""

    id: str
    tracker_id: str
    seq: int
    created_at: datetime
    employee_id: str
    memo_type: str
    need_group: str | None = None
    task: str | None = None
    text: str = Field(repr=False)
    thread_id: str | None = None
    follow_ups: list[FollowUpRecord] = Field(default_factory=list)


class TrackerRecord(BaseModel):
    """HTTP answer: a member's Tracker with its conversations, newest first."""

    id: str
    member_id: str
    account_suffix: str
    tracker_type: str
    description: str
    created_at: datetime
    conversation_count: int
    conversations: list[ConversationRecord] = Field(default_factory=list)


class FollowUpEventRecord(BaseModel):
    """HTTP answer: one entry of a follow-up's history (a reassignment)."""

    kind: str
    at: datetime
    from_employee_id: str | None
    to_employee_id: str | None
    by_employee_id: str
    note: str | None = Field(default=None, repr=False)


class FollowUpThread(BaseModel):
    """HTTP answer: a follow-up with every follow-up and note chained to it, oldest first."""

    follow_up: FollowUpRecord
    conversations: list[ConversationRecord]
    follow_ups: list[FollowUpRecord]
    history: list[FollowUpEventRecord]


class FollowUpReportRow(BaseModel):
    """HTTP answer: one employee's follow-up figures for a period (``/reports/follow-ups``)."""

    employee_id: str
    name: str
    outstanding: int
    overdue: int
    completed: int
    mean_days_to_complete: float | None
    median_days_to_complete: float | None = None
