"""The membership register: which member numbers exist and which are closed (migration 0008).

memberflow is not the system of record for memberships: the core system is. ``memberships`` is
a sync of it, loaded with ``memberflow members import FILE`` (CSV or Parquet with ``member_id``,
``opened_on``, ``closed_on``): every row is validated first (nothing is written when one is
bad), then upserted in chunks, so importing the same file again changes nothing. Mass Tracker
batches skip members absent from it ("unknown member") or closed ("membership closed").
Errors name row numbers and rules, never the values (they are member numbers).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import cast

import asyncpg
import polars as pl
from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from workers.platform.database import Base, Sessions, _now

MEMBER_ID = re.compile(r"^[0-9]{1,12}$")
UPSERT_CHUNK = 10_000
COLUMNS = ("member_id", "opened_on", "closed_on")


class MembershipRow(Base):
    """One membership as the core system last reported it."""

    __tablename__ = "memberships"

    member_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = _now()


@asynccontextmanager
async def raw_connection(sessions: Sessions) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection of the store's engine, for set-based SQL with arrays."""
    engine = sessions.kw["bind"]
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        yield cast(asyncpg.Connection, raw.driver_connection)


class MemberFileError(ValueError):
    """A member file that cannot be used as it is (the message names rows, never values)."""


@dataclass(frozen=True)
class ImportResult:
    """What one import did."""

    rows: int
    inserted: int
    updated: int
    unchanged: int


def read_file(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    """``columns`` of a CSV or Parquet file (by suffix), every value as text.

    Raises:
        MemberFileError: Unknown suffix, unreadable file, or a column missing.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
        elif suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
        else:
            raise MemberFileError(f"{path.name}: use a .csv or .parquet file")
    except (OSError, pl.exceptions.PolarsError) as err:
        raise MemberFileError(f"{path.name}: cannot be read ({type(err).__name__})") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MemberFileError(f"{path.name}: missing column(s) {', '.join(missing)}")
    return frame.select([pl.col(c).cast(pl.String) for c in columns])


def bad_member_rows(values: list[str | None]) -> list[int]:
    """1-based row numbers whose member number is not 1-12 digits."""
    return [i for i, v in enumerate(values, 1) if v is None or not MEMBER_ID.match(v.strip())]


def _dates(values: list[str | None], name: str, *, optional: bool) -> list[date | None]:
    out: list[date | None] = []
    for row, value in enumerate(values, 1):
        text = (value or "").strip()
        if not text and optional:
            out.append(None)
            continue
        try:
            out.append(date.fromisoformat(text[:10]))
        except ValueError as err:
            raise MemberFileError(f"row {row}: {name} must be a date (YYYY-MM-DD)") from err
    return out


def parse_memberships(frame: pl.DataFrame) -> list[tuple[str, date, date | None]]:
    """Validated ``(member_id, opened_on, closed_on)`` rows, one per member.

    Raises:
        MemberFileError: A bad member number, date, a closing before the opening, or a member
            listed twice (the first few row numbers are named).
    """
    members = frame["member_id"].to_list()
    bad = bad_member_rows(members)
    if bad:
        raise MemberFileError(f"rows {bad[:5]}: member_id must be 1-12 digits")
    opened = _dates(frame["opened_on"].to_list(), "opened_on", optional=False)
    closed = _dates(frame["closed_on"].to_list(), "closed_on", optional=True)
    rows: list[tuple[str, date, date | None]] = []
    seen: set[str] = set()
    for row, (member, start, end) in enumerate(zip(members, opened, closed, strict=True), 1):
        key = str(member).strip()
        if key in seen:
            raise MemberFileError(f"row {row}: member_id listed twice")
        seen.add(key)
        assert start is not None
        if end is not None and end < start:
            raise MemberFileError(f"row {row}: closed_on is before opened_on")
        rows.append((key, start, end))
    return rows


async def import_memberships(
    sessions: Sessions, rows: list[tuple[str, date, date | None]]
) -> ImportResult:
    """Upsert the rows (set-based, ``UPSERT_CHUNK`` per statement); unchanged rows stay as
    they are (their ``updated_at`` too), so a repeated import changes nothing."""
    inserted = updated = 0
    async with raw_connection(sessions) as conn, conn.transaction():
        for start in range(0, len(rows), UPSERT_CHUNK):
            part = rows[start : start + UPSERT_CHUNK]
            # xmax = 0 tells an inserted row from an updated one.
            result = await conn.fetch(
                """
                INSERT INTO memberships (member_id, opened_on, closed_on)
                SELECT * FROM unnest($1::text[], $2::date[], $3::date[])
                ON CONFLICT (member_id) DO UPDATE
                   SET opened_on = EXCLUDED.opened_on, closed_on = EXCLUDED.closed_on,
                       updated_at = now()
                 WHERE (memberships.opened_on, memberships.closed_on)
                       IS DISTINCT FROM (EXCLUDED.opened_on, EXCLUDED.closed_on)
                RETURNING (xmax = 0) AS inserted
                """,
                [r[0] for r in part],
                [r[1] for r in part],
                [r[2] for r in part],
            )
            new = sum(1 for r in result if r["inserted"])
            inserted += new
            updated += len(result) - new
    return ImportResult(len(rows), inserted, updated, len(rows) - inserted - updated)


async def import_file(sessions: Sessions, path: Path) -> ImportResult:
    """Read, validate and upsert a membership file.

    Raises:
        MemberFileError: The file or one of its rows is unusable (nothing is written).
    """
    return await import_memberships(sessions, parse_memberships(read_file(path, COLUMNS)))
