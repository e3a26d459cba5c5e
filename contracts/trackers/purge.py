"""Tracker purge: the criteria, the verify report, and the retention run's inputs.

A purge runs in two stages (Tool #705): *verify* lists what would go and records it under a
purge id; *confirm* deletes exactly that list. Conversations of a follow-up thread with an open
follow-up are kept, and a follow-up thread goes whole or not at all. The monthly retention run
purges, per Tracker type that allows purging, the conversations older than its retention.

Pydantic models and pure date arithmetic only: workflows import this module.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.vocabulary import Code2

PurgeId = Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
"""A purge run's id (``tracker_purges.id``): a UUID."""

PurgeState = Literal["verified", "confirmed"]
PurgeOrigin = Literal["manual", "retention"]

RETENTION_ACTOR = "retention-run"
"""Who a retention run's purges are recorded as (``verified_by``, the access trail)."""

EARLIEST_CREATED = date(1900, 1, 1)
"""The earliest day a criterion may name: a 100-year retention (1,200 months) reaches back to it."""
LATEST_CREATED = date(2099, 12, 31)
CreatedDate = Annotated[date, Field(ge=EARLIEST_CREATED, le=LATEST_CREATED)]


class PurgeCriteria(BaseModel):
    """What to purge: at least one criterion; every given one must hold (AND)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracker_types: Annotated[list[Code2], Field(max_length=50)] = Field(default_factory=list)
    """Only these Tracker types (each must allow purging); none given: every type that does."""
    memo_types: Annotated[list[Code2], Field(max_length=50)] = Field(default_factory=list)
    """Only conversations with one of these memo types."""
    created_from: CreatedDate | None = None
    """Only conversations written on or after this day (the credit union's time zone)."""
    created_to: CreatedDate | None = None
    """Only conversations written on or before this day (the credit union's time zone)."""

    @model_validator(mode="after")
    def _some_criterion(self) -> PurgeCriteria:
        if not (self.tracker_types or self.memo_types or self.created_from or self.created_to):
            raise ValueError(
                "a purge needs at least one criterion: tracker_types, memo_types, "
                "created_from or created_to"
            )
        if self.created_from and self.created_to and self.created_to < self.created_from:
            raise ValueError("created_to must not be before created_from")
        return self


class PurgeCount(BaseModel):
    """Conversations of one Tracker type and memo type in a purge."""

    tracker_type: str
    memo_type: str
    conversations: int


class PurgeReport(BaseModel):
    """A purge run as verify recorded it, and what confirm did (ids and counts only)."""

    purge_id: str
    origin: PurgeOrigin
    state: PurgeState
    criteria: PurgeCriteria
    purge_types: list[str]
    """The Tracker types the purge may touch (each allowed purging when verified)."""
    counts: list[PurgeCount]
    conversations: int
    """Conversations the purge deletes (the sum of ``counts``)."""
    trackers_emptied: int
    """Trackers every conversation of which is in the purge: deleted with the last one."""
    kept_open_follow_up: int
    """Matching conversations kept: their follow-up thread has an open follow-up."""
    kept_thread_outside: int
    """Matching conversations kept: their follow-up thread reaches conversations the criteria
    do not select (a thread is purged whole or not at all)."""
    conversations_deleted: int = 0
    trackers_deleted: int = 0
    verified_by: str
    verified_at: datetime
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None


class RetentionPurgeInput(BaseModel):
    """Start input of ``TrackerRetentionWorkflow`` (fixed when the Schedule is created)."""

    chunk_size: Annotated[int, Field(ge=1, le=10_000)] = 500


class RetentionRule(BaseModel):
    """One Tracker type the retention run purges: it allows purging, its retention is finite."""

    tracker_type: str
    retention_months: int


class RetentionVerifyInput(BaseModel):
    """Verify one type's retention purge as of the run's fire time."""

    purge_id: PurgeId
    """Chosen by the workflow (replay-safe), so a retried activity finds its own purge."""
    rule: RetentionRule
    fired_at: datetime


class ConfirmPurgeInput(BaseModel):
    """Confirm a verified purge (``confirm_tracker_purge``)."""

    purge_id: PurgeId
    chunk_size: Annotated[int, Field(ge=1, le=10_000)] = 500


class RetentionPurgeResult(BaseModel):
    """What one retention run did: a report per type purged."""

    purges: list[PurgeReport] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    """Types whose purge was refused this time (it changed between verify and confirm)."""


def months_before(day: date, months: int) -> date:
    """``day`` minus ``months`` calendar months (the 31st becomes the month's last day)."""
    year, index = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, index + 1)[1]
    return date(year, index + 1, min(day.day, last))


def retention_last_day(today: date, retention_months: int) -> date:
    """The last creation day a retention purge on ``today`` deletes: the day before the
    first day still kept (``today`` minus the retention)."""
    return months_before(today, retention_months) - timedelta(days=1)
