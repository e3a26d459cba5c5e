"""Mass Tracker batches: the request, the workflow's inputs and results, the views (no I/O).

A batch writes one conversation per listed member (docs/http-api.md, "Mass Trackers"). The member
list itself never travels through Temporal: it is stored with the batch in PostgreSQL at
submission, and the workflow only carries the batch id and sequence ranges.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.vocabulary import Code2, DueDate, EmployeeId, NoteText, ShortCode16

MAX_MEMBERS = 1_000_000
"""The most members one batch may list (the CLI's file path; the API's body limit is lower)."""

BATCH_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
BatchId = Annotated[str, StringConstraints(pattern=BATCH_ID_PATTERN)]
"""The client's idempotency key of a batch: a business key, never member data (it is part of
a workflow id, which every operator sees)."""

SkipReason = Literal["unknown member", "membership closed"]
UNKNOWN_MEMBER: SkipReason = "unknown member"
MEMBERSHIP_CLOSED: SkipReason = "membership closed"


class MassMode(StrEnum):
    """What a batch writes."""

    LEADS = "leads"
    """One Sales Tracker lead per member, for a cross-sales Task."""
    NOTES = "notes"
    """One conversation with the given text in each member's Tracker of the chosen type."""


class MassFollowUp(BaseModel):
    """A follow-up opened on every conversation the batch writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    employee_id: EmployeeId
    due_on: DueDate


class MassTrackerSpec(BaseModel):
    """Everything a batch is, except its members."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_id: BatchId
    mode: MassMode
    tracker_type: Code2
    memo_type: Code2
    task: ShortCode16 | None = None
    """Leads: the cross-sales Task (its Need Group follows from the configuration)."""
    text: NoteText | None = None
    """Notes: required. Leads: default ``Lead: <task description>``."""
    follow_up: MassFollowUp | None = None

    @model_validator(mode="after")
    def _mode_fields(self) -> MassTrackerSpec:
        if self.mode is MassMode.LEADS and self.task is None:
            raise ValueError("mode leads needs a task")
        if self.mode is MassMode.NOTES and self.text is None:
            raise ValueError("mode notes needs a text")
        return self


class MassTrackerRequest(MassTrackerSpec):
    """``POST /mass-trackers``: the batch and its members inline (member numbers, 1-12 digits)."""

    members: list[str] = Field(max_length=MAX_MEMBERS)


class MassTrackerInput(BaseModel):
    """Start of ``MassTrackerWorkflow``: the batch id and its size, never the members."""

    batch_id: BatchId
    members_total: int = Field(ge=1)
    """Distinct members: the batch's sequence numbers run 1..members_total."""
    follow_ups: bool = False
    chunk_size: int = Field(default=1_000, ge=1, le=20_000)
    max_concurrent_chunks: int = Field(default=2, ge=1, le=16)


class MassChunkInput(BaseModel):
    """One chunk of a batch: the members with sequence numbers first..last."""

    batch_id: BatchId
    first_seq: int = Field(ge=1)
    last_seq: int = Field(ge=1)


class MassChunkResult(BaseModel):
    """The outcomes of one chunk's members, as the table holds them (a retry reads the same)."""

    created: int = 0
    appended: int = 0
    skipped: int = 0
    follow_ups_opened: int = 0


class MassStartResult(BaseModel):
    """Follow-up workflows of one chunk started (or found running) by ``start_follow_ups``."""

    started: int = 0


class MassTrackerProgress(BaseModel):
    """What the workflow's ``progress`` query answers."""

    batch_id: str
    phase: str = "writing"
    members_total: int = 0
    members_done: int = 0
    created: int = 0
    appended: int = 0
    skipped: int = 0
    follow_ups_opened: int = 0
    follow_ups_started: int = 0


class MassTrackerReport(BaseModel):
    """A finished batch's report: counts only (skipped members are listed from the table)."""

    batch_id: str
    mode: MassMode
    tracker_type: str
    members_total: int
    duplicates: int
    created: int
    appended: int
    skipped: int
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)
    follow_ups_opened: int
    follow_ups_started: int
    finished_at: datetime | None = None


class SkippedMember(BaseModel):
    """A listed member the batch wrote nothing for, and why."""

    member_id: str
    reason: str


class MassTrackerCounts(BaseModel):
    """The batch's outcomes so far, counted in the table."""

    done: int = 0
    created: int = 0
    appended: int = 0
    skipped: int = 0
    follow_ups_opened: int = 0
    follow_ups_started: int = 0


class MassTrackerSummary(BaseModel):
    """One batch in ``GET /mass-trackers`` (no member data)."""

    batch_id: str
    mode: MassMode
    tracker_type: str
    memo_type: str
    task: str | None
    need_group: str | None
    requested_by: str
    state: str
    members_total: int
    duplicates: int
    as_of: date
    submitted_at: datetime
    finished_at: datetime | None


class MassTrackerView(MassTrackerSummary):
    """``GET /mass-trackers/{batch_id}``: the batch, its progress, report and skipped members."""

    follow_up: MassFollowUp | None
    progress: MassTrackerCounts
    report: MassTrackerReport | None = None
    skipped: list[SkippedMember] = Field(default_factory=list)
    """The first ``skipped_limit`` skipped members, in list order."""
    created_now: bool = False
    """On ``POST``: whether this call stored the batch (False: the batch id existed)."""
