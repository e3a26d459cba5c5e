"""How an extract is cut into household-aligned shards: how many, which member goes where.

A household's members always share a shard, so scoring a shard gives the same household
totals, and so the same levels, as scoring the whole extract (docs/tier-program.md, household
scoring). The run writes each shard's tables to files with these functions
(``workers.tiers.runs.steps.write_shards``); tests and benchmarks cut in memory with the same
ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from workers.tiers.scoring.hashing import mix64

MEMBERS_PER_SHARD = 250_000
"""Upper bound of members per shard: a shard's scoring memory grows with its size."""


def shard_count_for(members: int, requested: int) -> int:
    """At least ``requested`` shards, more when the extract is large (bounded shard size)."""
    return max(requested, -(-members // MEMBERS_PER_SHARD))


def assign_shards(members: pl.DataFrame, shard_count: int) -> pl.DataFrame:
    """``member_id, shard`` for every member; a household always lands in one shard.

    The shard depends only on the household's smallest member id (digits, read as a number,
    so it is the same on every machine and library version); a member without a household
    is a household of one.

    Args:
        members: The extract's ``members`` table (``member_id``, ``household_id``).
        shard_count: Number of shards (>= 1).

    Returns:
        One row per member: ``member_id`` and ``shard`` (``Int32``, 0 .. ``shard_count`` - 1).
    """
    if shard_count < 1:
        raise ValueError("shard_count must be >= 1")
    number = pl.col("member_id").cast(pl.UInt64)
    anchor = (
        pl.when(pl.col("household_id").is_null())
        .then(number)
        .otherwise(number.min().over("household_id"))
    )
    return members.select("member_id", (mix64(anchor) % shard_count).cast(pl.Int32).alias("shard"))


def split_by_shard(
    frame: pl.DataFrame, assignment: pl.DataFrame, shard_count: int
) -> Iterator[pl.DataFrame]:
    """The rows of ``frame`` in shard 0, then shard 1, ..., each cut only when asked for.

    Only the ``member_id`` column is joined to the assignment (not a copy of the whole
    table), and one shard's rows exist at a time, so a caller that writes and drops each
    part keeps memory near the table's own size.

    Args:
        frame: Any table with ``member_id`` (an extract table, or the previous levels).
        assignment: :func:`assign_shards` of the extract's members.
        shard_count: The ``shard_count`` the assignment was made with.

    Yields:
        ``shard_count`` frames with ``frame``'s columns (possibly empty); rows whose member
        has no shard (not in ``members``) belong to none.
    """
    shard = (
        frame.select("member_id")
        .join(assignment, on="member_id", how="left", maintain_order="left")
        .get_column("shard")
    )
    for index in range(shard_count):
        yield frame.filter(shard == index)
