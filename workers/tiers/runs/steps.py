"""The work of the run's activities between the files and the store: validate, shard, score.

Everything here is synchronous and columnar (polars); the activities call it in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from temporalio.exceptions import ApplicationError

from contracts.tiers.program import TierProgram
from contracts.tiers.runs import ShardFiles
from workers.platform.settings import Settings
from workers.tiers.runs.report import summarize
from workers.tiers.scoring.engine import score_extract
from workers.tiers.scoring.extract import TABLE_NAMES, ExtractError
from workers.tiers.scoring.extract import read_extract as read_extract_folder
from workers.tiers.scoring.files import check_file, read_faults
from workers.tiers.scoring.program import DEFAULT_PROGRAM_PATH, ProgramError
from workers.tiers.scoring.program import load_program as load_program_file
from workers.tiers.scoring.results import stored_frame
from workers.tiers.scoring.sharding import assign_shards, split_by_shard

PREVIOUS_FILE = "previous.parquet"
"""The previous period's levels of a shard's members, beside its extract tables."""


def program_path(settings: Settings) -> Path:
    """The configured program file, or the shipped default program."""
    return settings.tier_program if settings.tier_program is not None else DEFAULT_PROGRAM_PATH


@dataclass
class Validated:
    """A valid program and extract, loaded."""

    program: TierProgram
    program_name: str
    frames: dict[str, pl.DataFrame]
    members: int


def load_program(path: Path) -> TierProgram:
    """Load and validate the program; a bad one is a non-retryable ``ProgramError``.

    Bad includes unreadable: missing, a directory, not UTF-8 (``files.fault_of`` decides);
    a storage error stays retryable.
    """
    try:
        with read_faults(path, lambda reason: ProgramError(f"{path}: {reason}")):
            return load_program_file(path)
    except ProgramError as err:
        # "from None": Temporal records an error's whole cause chain in the workflow history
        # (and the worker logs it); the message says all that is needed.
        raise ApplicationError(str(err), type="ProgramError", non_retryable=True) from None


def read_extract(folder: Path) -> dict[str, pl.DataFrame]:
    """Read and validate an extract folder; a bad one is a non-retryable ``ExtractError``."""
    try:
        return read_extract_folder(folder).tables()
    except ExtractError as err:
        # "from None": the causes would go into the workflow history, and a parser's message
        # (polars quotes the CSV field it choked on) may hold member data.
        raise ApplicationError(str(err), type="ExtractError", non_retryable=True) from None


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


def write_shards(
    frames: Mapping[str, pl.DataFrame], previous: pl.DataFrame, work: Path, shard_count: int
) -> list[ShardFiles]:
    """Split every table (and the previous levels) by household-aligned shard into files.

    Args:
        frames: The validated extract's tables by name.
        previous: ``member_id, level_code`` of the period before.
        work: The run's work folder (created; re-written when ``prepare`` is retried).
        shard_count: Number of shards.

    Returns:
        One entry per shard, empty shards included (a tiny extract may leave some empty).
    """
    assignment = assign_shards(frames["members"], shard_count)
    folders = [work / f"shard-{index:03d}" for index in range(shard_count)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    files = {name: (frame, f"{name}.parquet") for name, frame in frames.items()}
    files["previous"] = (previous, PREVIOUS_FILE)
    for frame, file in files.values():
        parts = split_by_shard(frame, assignment, shard_count)
        for folder, part in zip(folders, parts, strict=True):
            part.write_parquet(folder / file, compression="lz4", statistics=False)
            # Dropped before the next shard is cut: one shard's rows in memory at a time.
            del part
    counts = assignment.group_by("shard").len()
    members = {int(shard): int(n) for shard, n in counts.iter_rows()}
    return [
        ShardFiles(index=index, folder=str(folder), members=members.get(index, 0))
        for index, folder in enumerate(folders)
    ]


@dataclass
class ScoredShard:
    """A scored shard ready to persist, with its counts."""

    frame: pl.DataFrame
    changed: int
    counts_by_level: dict[str, int]
    movement: dict[str, dict[str, int]]
    read_seconds: float = 0.0
    score_seconds: float = 0.0


def read_shard_file(folder: Path, file: str, columns: list[str] | None = None) -> pl.DataFrame:
    """One Parquet file of a shard written by ``prepare``.

    Raises:
        ApplicationError: ``ShardError``, non-retryable, when the file's bytes are not a
            readable Parquet file (a retry would read the same bytes; re-run the period).
            A missing file or a storage error is raised as it is and retried: the shard
            folder lives on storage the workers share.
    """
    path = folder / file
    where = f"{folder.name}/{file}"

    def refusal(reason: str) -> ApplicationError:
        return ApplicationError(
            f"{where}: {reason} [{path}]", type="ShardError", non_retryable=True
        )

    with read_faults(path, refusal, supplied=False):
        if path.is_file():
            check_file(path)  # an empty file is a fault; a missing one is storage's
        return pl.read_parquet(path, columns=columns)


def shard_member_ids(folder: Path) -> list[str]:
    """Member ids of one shard."""
    return read_shard_file(folder, "members.parquet", ["member_id"])["member_id"].to_list()


def chunks(frame: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    """The frame cut in order into slices of ``size`` rows (the heartbeat cursor's unit)."""
    return [frame.slice(offset, size) for offset in range(0, frame.height, size)]


def score_shard_folder(program_file: Path, folder: Path, period: str) -> ScoredShard:
    """Score one shard folder with the production engine, ready for ``persist.write_results``."""
    began = time.perf_counter()
    program = load_program(program_file)
    frames = {name: read_shard_file(folder, f"{name}.parquet") for name in TABLE_NAMES}
    previous = read_shard_file(folder, PREVIOUS_FILE)
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
    scored = score_extract(program, period, frames, previous)
    return stored_frame(program, scored, drop_zero_items=True)
