"""Inputs, results and views of the monthly Tiered Service scoring run (no I/O)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

PERIOD_PATTERN = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
NO_LEVEL = "none"
"""Row/column label of the movement matrix for members without a previous level."""


def _period(value: str) -> str:
    if not PERIOD_PATTERN.match(value):
        raise ValueError("period must be YYYY-MM (month 01-12)")
    return value


PeriodStr = Annotated[str, AfterValidator(_period)]


def previous_period(period: str) -> str:
    """The month before ``period`` (``2027-01`` -> ``2026-12``)."""
    year, month = (int(part) for part in period.split("-"))
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"


class TierScoringInput(BaseModel):
    """Start of ``TierScoringWorkflow``."""

    period: PeriodStr
    shard_count: int = Field(default=4, ge=1, le=256)
    max_concurrent_shards: int = Field(default=2, ge=1, le=64)
    chunk_size: int = Field(default=50_000, ge=100)
    publish_batch_size: int = Field(default=5_000, ge=1)


class MonthlyTierScoringInput(BaseModel):
    """What the Schedule passes to ``MonthlyTierScoringWorkflow`` every month."""

    time_zone: str
    shard_count: int = Field(default=4, ge=1, le=256)
    max_concurrent_shards: int = Field(default=2, ge=1, le=64)


class PrepareInput(BaseModel):
    """Validate the extract and program, record the run, cut the shards."""

    period: PeriodStr
    workflow_id: str
    shard_count: int
    started_at: datetime


class ShardFiles(BaseModel):
    """One household-aligned shard of the extract, written by ``prepare``."""

    index: int
    folder: str
    members: int


class PrepareResult(BaseModel):
    """What ``prepare`` found and wrote."""

    period: PeriodStr
    program_name: str
    members: int
    work_folder: str
    shards: list[ShardFiles]
    previous_period: str
    previous_members: int
    seconds: float


class ShardInput(BaseModel):
    """Score and persist one shard."""

    period: PeriodStr
    shard: ShardFiles
    chunk_size: int = 50_000


class ShardResult(BaseModel):
    """Counts of one scored shard (members whose rows were written, and why)."""

    index: int
    members_scored: int
    members_changed: int
    rows_written: int
    counts_by_level: dict[str, int]
    movement: dict[str, dict[str, int]]
    resumed_from_chunk: int = 0
    read_seconds: float = 0.0
    score_seconds: float = 0.0
    persist_seconds: float = 0.0


class PublishInput(BaseModel):
    """Publish the level changes of one shard."""

    period: PeriodStr
    shard: ShardFiles
    batch_size: int = 5_000


class PublishResult(BaseModel):
    """Events sent for one shard."""

    index: int
    published: int
    seconds: float


class FinishInput(BaseModel):
    """Everything ``finish`` needs to write the run report."""

    period: PeriodStr
    workflow_id: str
    started_at: datetime
    finished_at: datetime
    prepare: PrepareResult
    shards: list[ShardResult]
    publishes: list[PublishResult]
    phase_seconds: dict[str, float]


class FailureInput(BaseModel):
    """Mark a run as failed (after ``prepare`` recorded it)."""

    period: PeriodStr
    workflow_id: str
    message: str


class RemoveShardsInput(BaseModel):
    """Remove one workflow run's shard files (a run that stops without ``finish``)."""

    period: PeriodStr
    # A path component of the folder removed: a Temporal run id, never "..", never a "/".
    run_id: str = Field(pattern=r"^[0-9A-Za-z-]{1,64}$")


class TierRunReport(BaseModel):
    """The run report: stored in ``tier_runs.report`` and shown by the API and the CLI."""

    period: str
    program_name: str
    shard_count: int
    members_scored: int
    members_changed: int
    members_published: int
    rows_written: int
    counts_by_level: dict[str, int]
    movement: dict[str, dict[str, int]] = Field(
        description="previous level code -> current level code -> members ('none' = first scoring)"
    )
    timings: dict[str, float] = Field(description="seconds per phase (wall) and per activity step")
    started_at: datetime
    finished_at: datetime


class TierRunProgress(BaseModel):
    """The ``progress`` query of ``TierScoringWorkflow``."""

    period: str
    phase: str
    shards_total: int = 0
    shards_scored: int = 0
    shards_published: int = 0
    members_total: int = 0
    members_scored: int = 0
    members_published: int = 0


class TierRunView(BaseModel):
    """A period's run as the API and the CLI show it."""

    period: str
    state: str
    workflow_id: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    report: TierRunReport | None = None
    progress: TierRunProgress | None = None
    error: str | None = None


class TierRunRequest(BaseModel):
    """``POST /tier-scoring/runs`` body."""

    period: PeriodStr


class MemberTierView(BaseModel):
    """``GET /members/{id}/tier``: the member's points summary for one period."""

    member_id: str
    period: str
    level_code: str
    level_name: str
    previous_level_code: str | None
    total: int
    household_total: int | None
    possible_points: int
    atm_service_charge_code: int | None
    points_by_goal: dict[str, int]
    possible_by_goal: dict[str, int]
    points_by_item: dict[str, int]
