"""A deterministic generator of realistic monthly extracts, for demos and benches.

Everything is columnar: random numbers come from a counter-based generator (splitmix64 over
``(seed, stream, row)`` in polars' wrapping UInt64 arithmetic, ``generator_random``), so the
same seed gives the same bytes on any machine, and a million members take seconds, with no
Python loop per member. The tables themselves are built in ``generator_tables``; this module
assembles them into an extract and writes it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from contracts.tiers.period import Period
from workers.tiers.generator_tables import (
    accounts_table,
    activity_table,
    credit_scores_table,
    members_table,
    otb_table,
)
from workers.tiers.scoring.extract import SCHEMAS, TABLE_NAMES, Extract, polars_schema


def generate_frames(period: str, members: int, seed: int) -> Extract:
    """Generate an extract in memory (same arguments, same data).

    Args:
        period: The month ``YYYY-MM`` (dates fall on or before its last day).
        members: Number of members.
        seed: Random seed.

    Returns:
        The five tables with the exact schemas of the extract format (docs/tier-program.md).
    """
    if members < 0:
        raise ValueError("members must be >= 0")
    last = Period(period).last_day()
    people = members_table(members, seed, last)
    tables = {
        "members": people,
        "accounts": accounts_table(people, seed, last),
        "credit_scores": credit_scores_table(people, seed, last),
        "otb": otb_table(people, seed),
        "activity": activity_table(people, seed),
    }
    return Extract.of(
        {
            name: tables[name].select(
                pl.col(c.name).cast(polars_schema(name)[c.name]) for c in SCHEMAS[name]
            )
            for name in TABLE_NAMES
        }
    )


def write_extract(extract: Extract, folder: str | Path, file_format: str = "parquet") -> Path:
    """Write the tables as ``<folder>/<table>.parquet`` (or ``.csv``).

    Args:
        extract: The tables.
        folder: The period folder (created).
        file_format: ``parquet`` or ``csv``.

    Returns:
        The folder.
    """
    if file_format not in ("parquet", "csv"):
        raise ValueError("file_format must be parquet or csv")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for name, frame in extract:
        for stale in (target / f"{name}.parquet", target / f"{name}.csv"):
            stale.unlink(missing_ok=True)  # one file per table, or the reader could pick both
        if file_format == "csv":
            frame.write_csv(target / f"{name}.csv", date_format="%Y-%m-%d", null_value="")
        else:
            frame.write_parquet(target / f"{name}.parquet", compression="zstd")
    return target


def generate_extract(
    folder: str | Path,
    *,
    members: int,
    seed: int,
    period: str,
    file_format: str = "parquet",
) -> Path:
    """Generate and write one month's extract into ``folder`` (``<root>/<YYYY-MM>``).

    Args:
        folder: The period folder to write (created).
        members: Number of members.
        seed: Random seed; the same seed gives byte-identical files.
        period: The month ``YYYY-MM``.
        file_format: ``parquet`` or ``csv``.

    Returns:
        The folder written.
    """
    return write_extract(generate_frames(period, members, seed), folder, file_format)
