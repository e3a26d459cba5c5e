"""PostgreSQL home of tier results and runs: their two tables and the bulk queries on them.

``tier_results`` and ``tier_runs`` are declared here once (the mirror of migration 0002, which
a test compares with the migrations); the column lists the queries use are derived from them.

Results go in with ``COPY`` (CSV produced by polars, never a Python loop per member), on the
engine's raw asyncpg connection; a 64-bit hash of each row's stored values finds what is new
or changed first:

- a re-run that computes the same results writes nothing and keeps ``published_at``, so no
  level-change event goes out twice;
- a row whose level or previous level changed gets ``published_at = NULL`` again, so the
  publish step sends its (new) level.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

import asyncpg
import polars as pl
from sqlalchemy import BigInteger, Column, DateTime, Integer, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB

from workers.platform.database import Base, Sessions

tier_results = Table(
    "tier_results",
    Base.metadata,
    Column("period", String(7), primary_key=True),
    Column("member_id", String(12), primary_key=True),
    Column("total", Integer, nullable=False),
    Column("household_total", Integer, nullable=True),
    Column("level_code", String(3), nullable=False),
    Column("level_name", String(80), nullable=False),
    Column("previous_level_code", String(3), nullable=True),
    Column("atm_service_charge_code", Integer, nullable=True),
    Column("points_by_goal", JSONB, nullable=False),
    Column("points_by_item", JSONB, nullable=False),
    Column("possible_by_goal", JSONB, nullable=False),
    Column("result_hash", BigInteger, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("scored_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)
tier_runs = Table(
    "tier_runs",
    Base.metadata,
    Column("period", String(7), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("workflow_id", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("report", JSONB, nullable=True),
)

_FILLED_BY_STORE = ("period", "result_hash", "published_at", "scored_at")
"""Columns of ``tier_results`` this module fills itself, not the results frame."""

RESULT_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in tier_results.columns if c.name not in _FILLED_BY_STORE
)
"""Columns of a results frame as ``write_results`` expects them (JSON columns as strings):
``workers.tiers.scoring.results.stored_frame`` gives exactly these."""

JSON_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in tier_results.columns if isinstance(c.type, JSONB)
)
"""``points_by_goal, points_by_item, possible_by_goal``: JSON objects in the table."""

_COMPARED = RESULT_COLUMNS[1:]
"""Every stored value but the key: what ``result_hash`` covers."""
_COPIED = tuple(c.name for c in tier_results.columns if c.server_default is None)
"""What the COPY writes: every column but ``scored_at`` (the database's ``now()``)."""
_HASH_SEED = 0x7469_6572

# New or changed members of a chunk: compares one 64-bit hash per row instead of every column,
# so re-running a period reads a few bytes per member and writes nothing.
_DIFF = """
SELECT k.member_id, t.member_id IS NOT NULL AS existed, t.level_code, t.previous_level_code,
       t.published_at
FROM tier_keys k
LEFT JOIN tier_results t ON t.period = $1 AND t.member_id = k.member_id
WHERE t.result_hash IS DISTINCT FROM k.result_hash
"""


_DIFF_SCHEMA = {
    "member_id": pl.String,
    "existed": pl.String,
    "old_level": pl.String,
    "old_previous": pl.String,
    "old_published_at": pl.String,
}


@asynccontextmanager
async def raw_connection(sessions: Sessions) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection of the store's engine (for COPY and bulk SQL).

    Transactions are the caller's (``conn.transaction()``); the pool gets the connection back
    clean.
    """
    engine = sessions.kw["bind"]
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        yield cast(asyncpg.Connection, raw.driver_connection)


def _with_hash(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``result_hash``: a 64-bit hash of every stored value of the row (vectorized)."""
    return frame.with_columns(
        pl.struct(list(_COMPARED)).hash(_HASH_SEED).reinterpret(signed=True).alias("result_hash")
    )


def _csv(frame: pl.DataFrame) -> io.BytesIO:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="", datetime_format="%+")
    buffer.seek(0)
    return buffer


async def write_results(conn: asyncpg.Connection, period: str, frame: pl.DataFrame) -> int:
    """Store one chunk of results in one transaction; unchanged rows are not touched.

    Steps: COPY (member_id, hash) into a temporary table; find new and changed members with
    one join; delete the changed ones; COPY the new versions straight into ``tier_results``.
    ``published_at`` is kept when neither the level nor the previous level changed.

    Args:
        conn: An asyncpg connection outside any transaction.
        period: The scored period (``YYYY-MM``).
        frame: Results with ``RESULT_COLUMNS`` (JSON columns already encoded as strings).

    Returns:
        Rows inserted or replaced (0 when a re-run found everything identical).
    """
    if frame.height == 0:
        return 0
    hashed = _with_hash(frame.select(RESULT_COLUMNS))
    keys = await asyncio.to_thread(_csv, hashed.select("member_id", "result_hash"))
    async with conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE tier_keys (member_id text PRIMARY KEY, result_hash bigint) "
            "ON COMMIT DROP"
        )
        await conn.copy_to_table("tier_keys", source=keys, format="csv", null="")
        await conn.execute("ANALYZE tier_keys")
        found = io.BytesIO()
        await conn.copy_from_query(_DIFF, period, output=found, format="csv")
        if not found.getbuffer().nbytes:
            return 0
        found.seek(0)
        stored = pl.read_csv(found, has_header=False, schema=_DIFF_SCHEMA)
        same_level = (pl.col("old_level") == pl.col("level_code")) & (
            pl.col("old_previous").eq_missing(pl.col("previous_level_code"))
        )
        rows = hashed.join(stored, on="member_id", how="inner").with_columns(
            pl.when(same_level).then(pl.col("old_published_at")).alias("published_at"),
            pl.lit(period).alias("period"),
        )
        replaced = rows.filter(pl.col("existed") == "t")["member_id"].to_list()
        if replaced:
            await conn.execute(
                "DELETE FROM tier_results WHERE period = $1 AND member_id = ANY($2::text[])",
                period,
                replaced,
            )
        data = await asyncio.to_thread(_csv, rows.select(_COPIED))
        await conn.copy_to_table(
            "tier_results", source=data, columns=list(_COPIED), format="csv", null=""
        )
    return rows.height


async def read_levels(conn: asyncpg.Connection, period: str) -> pl.DataFrame:
    """Stored level codes of a period as a frame ``member_id, level_code`` (fast, via COPY)."""
    buffer = io.BytesIO()
    await conn.copy_from_query(
        "SELECT member_id, level_code FROM tier_results WHERE period = $1",
        period,
        output=buffer,
        format="csv",
    )
    buffer.seek(0)
    if not buffer.getbuffer().nbytes:
        return pl.DataFrame(schema={"member_id": pl.String, "level_code": pl.String})
    return pl.read_csv(
        buffer, has_header=False, schema={"member_id": pl.String, "level_code": pl.String}
    )


_PENDING_SCHEMA = {
    "member_id": pl.String,
    "total": pl.Int64,
    "level_code": pl.String,
    "level_name": pl.String,
    "previous_level_code": pl.String,
}


async def pending_changes(
    conn: asyncpg.Connection, period: str, member_ids: Sequence[str]
) -> pl.DataFrame:
    """Unpublished level changes of the given members, ordered by member id (via COPY)."""
    buffer = io.BytesIO()
    await conn.copy_from_query(
        """
        SELECT member_id, total, level_code, level_name, previous_level_code
        FROM tier_results
        WHERE period = $1 AND member_id = ANY($2::text[]) AND published_at IS NULL
          AND level_code IS DISTINCT FROM previous_level_code
        ORDER BY member_id
        """,
        period,
        list(member_ids),
        output=buffer,
        format="csv",
    )
    if not buffer.getbuffer().nbytes:
        return pl.DataFrame(schema=_PENDING_SCHEMA)
    buffer.seek(0)
    return pl.read_csv(buffer, has_header=False, schema=_PENDING_SCHEMA)


async def mark_published(
    conn: asyncpg.Connection, period: str, member_ids: Sequence[str], at: datetime
) -> None:
    """Record that these members' level-change events were acknowledged by Kafka."""
    await conn.execute(
        "UPDATE tier_results SET published_at = $3 "
        "WHERE period = $1 AND member_id = ANY($2::text[])",
        period,
        list(member_ids),
        at,
    )


async def start_run(
    conn: asyncpg.Connection, period: str, workflow_id: str, started_at: datetime
) -> None:
    """Record (or restart) the period's run as ``running``."""
    await conn.execute(
        """
        INSERT INTO tier_runs (period, state, workflow_id, started_at)
        VALUES ($1, 'running', $2, $3)
        ON CONFLICT (period) DO UPDATE SET state = 'running', workflow_id = EXCLUDED.workflow_id,
            started_at = EXCLUDED.started_at, finished_at = NULL
        """,
        period,
        workflow_id,
        started_at,
    )


async def finish_run(
    conn: asyncpg.Connection,
    period: str,
    state: str,
    finished_at: datetime,
    report: dict[str, Any] | None,
) -> None:
    """Store the final state and, when there is one, the report."""
    await conn.execute(
        """
        UPDATE tier_runs SET state = $2, finished_at = $3,
            report = COALESCE($4::jsonb, report)
        WHERE period = $1
        """,
        period,
        state,
        finished_at,
        json.dumps(report) if report is not None else None,
    )


async def get_run(conn: asyncpg.Connection, period: str) -> dict[str, Any] | None:
    """The stored run of a period (``report`` decoded), or None."""
    row = await conn.fetchrow(
        "SELECT period, state, workflow_id, started_at, finished_at, report FROM tier_runs "
        "WHERE period = $1",
        period,
    )
    if row is None:
        return None
    result = dict(row)
    result["report"] = _json(result["report"])
    return result


async def member_result(
    conn: asyncpg.Connection, member_id: str, period: str | None
) -> dict[str, Any] | None:
    """One member's stored result for ``period`` (or their latest period), JSON decoded."""
    query = (
        "SELECT * FROM tier_results WHERE member_id = $1 AND period = $2"
        if period is not None
        # One primary-key probe per run period, newest first: no second index on 10^6+ rows.
        else "SELECT t.* FROM tier_runs r CROSS JOIN LATERAL (SELECT * FROM tier_results x "
        "WHERE x.period = r.period AND x.member_id = $1) t ORDER BY r.period DESC LIMIT 1"
    )
    args: list[Any] = [member_id] if period is None else [member_id, period]
    row = await conn.fetchrow(query, *args)
    if row is None:
        return None
    result = dict(row)
    for key in JSON_COLUMNS:
        result[key] = _json(result[key])
    return result


def _json(value: Any) -> Any:
    """A JSON column's value: the store's engine decodes jsonb itself; a bare pool does not."""
    return json.loads(value) if isinstance(value, str | bytes) else value
