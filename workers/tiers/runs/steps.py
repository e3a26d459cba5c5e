"""Glue between the scoring engine and the run: validate, shard, score a shard, summarise.

Everything here is synchronous and columnar (polars); the activities call it in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from temporalio.exceptions import ApplicationError

from contracts.platform.events import CloudEvent, new_event
from contracts.tiers.events import TIER_LEVEL_CHANGED
from contracts.tiers.program import TierProgram
from contracts.tiers.runs import NO_LEVEL, FinishInput, ShardFiles, TierRunReport
from workers.platform.settings import Settings

WORK_FOLDER = ".work"
"""Shard files live under ``<extract root>/.work/<period>/<run id>/shard-NNN/``."""
TABLES = ("members", "accounts", "credit_scores", "otb", "activity")
PREVIOUS_FILE = "previous.parquet"
SOURCE = "/memberflow/tiers"


def program_path(settings: Settings) -> Path:
    """The configured program file, or the shipped default program."""
    from workers.tiers.scoring.program import DEFAULT_PROGRAM_PATH

    return settings.tier_program if settings.tier_program is not None else DEFAULT_PROGRAM_PATH


@dataclass
class Validated:
    """A valid program and extract, loaded."""

    program: TierProgram
    program_name: str
    frames: dict[str, pl.DataFrame]
    members: int


def load_program(path: Path) -> TierProgram:
    """Load and validate the program; a bad one is a non-retryable ``ProgramError``."""
    from workers.tiers.scoring.program import ProgramError
    from workers.tiers.scoring.program import load_program as load

    try:
        return load(path)
    except FileNotFoundError as err:
        raise ApplicationError(
            f"tier program not found: {path}", type="ProgramError", non_retryable=True
        ) from err
    except ProgramError as err:
        raise ApplicationError(str(err), type="ProgramError", non_retryable=True) from err


def read_extract(folder: Path) -> dict[str, pl.DataFrame]:
    """Read and validate an extract folder; a bad one is a non-retryable ``ExtractError``."""
    from workers.tiers.scoring.extract import ExtractError
    from workers.tiers.scoring.extract import read_extract as read

    try:
        return read(folder).tables()
    except ExtractError as err:
        raise ApplicationError(str(err), type="ExtractError", non_retryable=True) from err


def validate(program_file: Path, folder: Path, period: str) -> Validated:
    """Program and extract of ``period``, both validated before anything is written."""
    program = load_program(program_file)
    frames = read_extract(folder)
    return Validated(
        program=program,
        program_name=program.name,
        frames=frames,
        members=frames["members"].height,
    )


MEMBERS_PER_SHARD = 250_000
"""Upper bound of members per shard: a shard's scoring memory grows with its size."""


def shard_count_for(members: int, requested: int) -> int:
    """At least ``requested`` shards, more when the extract is large (bounded shard size)."""
    return max(requested, -(-members // MEMBERS_PER_SHARD))


def write_shards(
    validated: Validated, previous: pl.DataFrame, work: Path, shard_count: int
) -> list[ShardFiles]:
    """Split every table (and the previous levels) by household-aligned shard into files.

    Args:
        validated: The loaded extract.
        previous: ``member_id, level_code`` of the period before.
        work: The run's work folder (created; re-written when ``prepare`` is retried).
        shard_count: Number of shards.

    Returns:
        One entry per shard, empty shards included (a tiny extract may leave some empty).
    """
    from workers.tiers.scoring.engine import shard_keys

    assignment = shard_keys(validated.frames["members"], shard_count)
    tables = dict(validated.frames)
    tables["previous"] = previous
    folders = [work / f"shard-{index:03d}" for index in range(shard_count)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        # Only the key column is joined (not a copy of the whole table); each shard's rows are
        # then cut, written and dropped one at a time, so memory stays near the extract's size.
        shard = (
            frame.select("member_id")
            .join(assignment, on="member_id", how="left", maintain_order="left")
            .get_column("shard")
        )
        file = PREVIOUS_FILE if name == "previous" else f"{name}.parquet"
        for index, folder in enumerate(folders):
            part = frame.filter(shard == index)
            part.write_parquet(folder / file, compression="lz4", statistics=False)
            del part
        del shard
    counts = assignment.group_by("shard").len()
    members = {int(shard): int(n) for shard, n in counts.iter_rows()}
    shards = [
        ShardFiles(index=index, folder=str(folder), members=members.get(index, 0))
        for index, folder in enumerate(folders)
    ]
    return shards


@dataclass
class ScoredShard:
    """A scored shard ready to persist, with its counts."""

    frame: pl.DataFrame
    changed: int
    counts_by_level: dict[str, int]
    movement: dict[str, dict[str, int]]
    read_seconds: float = 0.0
    score_seconds: float = 0.0


def shard_member_ids(folder: Path) -> list[str]:
    """Member ids of one shard."""
    ids = pl.read_parquet(folder / "members.parquet", columns=["member_id"])["member_id"]
    return ids.to_list()


def chunks(frame: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    """The frame cut in order into slices of ``size`` rows (the heartbeat cursor's unit)."""
    return [frame.slice(offset, size) for offset in range(0, frame.height, size)]


def summarize(frame: pl.DataFrame) -> tuple[int, dict[str, int], dict[str, dict[str, int]]]:
    """Changed members, counts per level and the previous → current movement matrix."""
    previous = pl.col("previous_level_code").fill_null(NO_LEVEL)
    changed = int(frame.select((previous != pl.col("level_code")).sum()).item() or 0)
    counts = frame.group_by("level_code").len().sort("level_code")
    by_level = {str(r[0]): int(r[1]) for r in counts.iter_rows()}
    moves = (
        frame.select(previous.alias("previous"), pl.col("level_code"))
        .group_by("previous", "level_code")
        .len()
        .sort("previous", "level_code")
    )
    movement: dict[str, dict[str, int]] = {}
    for before, after, count in moves.iter_rows():
        movement.setdefault(str(before), {})[str(after)] = int(count)
    return changed, by_level, movement


def score_shard_folder(program_file: Path, folder: Path, period: str) -> ScoredShard:
    """Score one shard folder with the production engine, ready for ``persist.write_results``."""
    began = time.perf_counter()
    program = load_program(program_file)
    frames = {name: pl.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    previous = pl.read_parquet(folder / PREVIOUS_FILE)
    read_done = time.perf_counter()
    frame = score_frames(program, frames, previous, period)
    frame = frame.sort("member_id")
    changed, by_level, movement = summarize(frame)
    return ScoredShard(
        frame=frame,
        changed=changed,
        counts_by_level=by_level,
        movement=movement,
        read_seconds=round(read_done - began, 3),
        score_seconds=round(time.perf_counter() - read_done, 3),
    )


def score_frames(
    program: TierProgram, frames: dict[str, pl.DataFrame], previous: pl.DataFrame, period: str
) -> pl.DataFrame:
    """Score with the production engine and shape its output into ``persist.RESULT_COLUMNS``.

    ``points_by_item`` keeps the non-zero items only (most members score in a handful of the
    thirty-odd items, and a smaller row is a faster COPY); readers add the zeros back from the
    program's configured items.
    """
    from workers.tiers.scoring.engine import score_extract, stored_frame

    scored = score_extract(program, period, frames, previous)
    return stored_frame(program, scored, drop_zero_items=True)


def level_change_values(period: str, frame: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """``key, value`` per changed member: the structured-mode CloudEvent JSON, built columnar.

    The JSON equals what ``contracts.cloudevents.new_event(...)`` with ``TierLevelChanged`` data
    serialises to (a test checks it); the event id ``tier-level-{period}-{member_id}`` is
    deterministic, so a re-sent batch is recognised by consumers.

    Args:
        period: The scored period.
        frame: ``member_id, total, level_code, level_name, previous_level_code``.
        now: The event time (UTC).

    Returns:
        Frame of ``key`` (member id) and ``value`` (JSON text).
    """
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    data = pl.struct(
        pl.col("member_id"),
        pl.lit(period).alias("period"),
        pl.col("total").alias("points"),
        pl.col("level_code"),
        pl.col("level_name"),
        pl.col("previous_level_code"),
    ).struct.json_encode()
    # member ids are 1-12 digits: safe inside JSON strings as they are.
    value = pl.concat_str(
        pl.lit(f'{{"specversion":"1.0","id":"tier-level-{period}-'),
        pl.col("member_id"),
        pl.lit(
            f'","source":"{SOURCE}","type":"{TIER_LEVEL_CHANGED}","time":"{stamp}",'
            '"datacontenttype":"application/json","subject":"'
        ),
        pl.col("member_id"),
        pl.lit('","data":'),
        data,
        pl.lit("}"),
    )
    return frame.select(pl.col("member_id").alias("key"), value.alias("value"))


def level_change_events(
    period: str, rows: Sequence[Any], now: datetime
) -> list[tuple[str, CloudEvent]]:
    """``(key, event)`` per changed member, as models (the reference for the columnar path)."""
    from contracts.tiers.program import TierLevelChanged

    items = []
    for row in rows:
        member_id = str(row["member_id"])
        data = TierLevelChanged(
            member_id=member_id,
            period=period,
            points=int(row["total"]),
            level_code=row["level_code"],
            level_name=row["level_name"],
            previous_level_code=row["previous_level_code"],
        )
        items.append(
            (
                member_id,
                new_event(
                    event_id=f"tier-level-{period}-{member_id}",
                    source=SOURCE,
                    event_type=TIER_LEVEL_CHANGED,
                    time=now,
                    data=data,
                    subject=member_id,
                ),
            )
        )
    return items


def build_report(finish: FinishInput) -> TierRunReport:
    """Add up the shards into the run report."""
    counts: dict[str, int] = {}
    movement: dict[str, dict[str, int]] = {}
    for shard in finish.shards:
        for level, count in shard.counts_by_level.items():
            counts[level] = counts.get(level, 0) + count
        for before, row in shard.movement.items():
            target = movement.setdefault(before, {})
            for after, count in row.items():
                target[after] = target.get(after, 0) + count
    timings = dict(finish.phase_seconds)
    timings["prepare_activity"] = finish.prepare.seconds
    timings["read_shards"] = round(sum(s.read_seconds for s in finish.shards), 3)
    timings["score"] = round(sum(s.score_seconds for s in finish.shards), 3)
    timings["persist"] = round(sum(s.persist_seconds for s in finish.shards), 3)
    timings["publish"] = round(sum(p.seconds for p in finish.publishes), 3)
    timings["total"] = round((finish.finished_at - finish.started_at).total_seconds(), 3)
    return TierRunReport(
        period=finish.period,
        program_name=finish.prepare.program_name,
        shard_count=len(finish.prepare.shards),
        members_scored=sum(s.members_scored for s in finish.shards),
        members_changed=sum(s.members_changed for s in finish.shards),
        members_published=sum(p.published for p in finish.publishes),
        rows_written=sum(s.rows_written for s in finish.shards),
        counts_by_level=dict(sorted(counts.items())),
        movement={k: dict(sorted(v.items())) for k, v in sorted(movement.items())},
        timings=timings,
        started_at=finish.started_at,
        finished_at=finish.finished_at,
    )
