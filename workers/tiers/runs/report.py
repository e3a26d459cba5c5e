"""The figures of a run: counts of one scored shard, and the run report adding them up."""

from __future__ import annotations

import polars as pl

from contracts.tiers.runs import NO_LEVEL, FinishInput, TierRunReport


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
