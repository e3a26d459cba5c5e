"""Benchmark: the supervisory reports at 100,000 and 1,000,000 conversations.

Loads conversations (with their Trackers and one follow-up per ten notes) straight into a
throwaway database with ``INSERT ... SELECT generate_series``, then times each report over one
month and over the whole year at each size, the 1M/100k ratio, a naive baseline (fetch the
period's rows and count them in Python) for the Tracker activity report, and the peak memory of
this process.

    python -m tests.bench.bench_reports [--sizes 100000,1000000] [--repeat 3]

Servers: with ``MEMBERFLOW_DATABASE_URL`` set, a new database on that server (dropped after);
otherwise a PostgreSQL of its own in a temporary folder (no Kafka or Temporal is needed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select, text

from contracts.platform.operations import OpsConfig
from deploy.postgres import PostgresCluster
from deploy.processes import free_port
from tests.bench.memory import peak_rss_mib
from workers.platform.database import Sessions, create_engine, session_factory
from workers.platform.migrate import upgrade
from workers.trackers import activity_reports, reports
from workers.trackers.tables import ConversationRow, TrackerRow

EMPLOYEES = 200
NOTES_PER_TRACKER = 5
MONTH = (date(2025, 6, 1), date(2025, 6, 30))
YEAR = (date(2025, 1, 1), date(2025, 12, 31))
# (tracker type, memo type) pairs of the shipped configuration the notes cycle through.
KINDS = [("MS", "MS"), ("ST", "SL"), ("AT", "CW"), ("XX", "PP"), ("NT", "NT")]
SERIES = "generate_series(CAST(:a AS integer), CAST(:b AS integer))"
TASKS = [("BORROW", "CCAPP"), ("BORROW", "AUTOLOAN"), ("SAVE", "CERT"), ("SPEND", "DEBIT")]


@contextmanager
def bench_database() -> Iterator[str]:
    """The URL of an empty database for this run."""
    url = os.environ.get("MEMBERFLOW_DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="mf-bench-reports-") as home:
        cluster = PostgresCluster(home=Path(home) / "postgres", port=free_port())
        cluster.start()
        try:
            yield cluster.url()
        finally:
            cluster.stop()


async def fresh_database(server_url: str) -> str:
    """A new database on the server of ``server_url``; its URL."""
    name = f"mf_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(server_url.replace("+asyncpg", ""))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def _cases(values: list[tuple[str, str]], index: str) -> tuple[str, str]:
    """SQL picking the pair ``values[index % len]``: two CASE expressions."""
    first = " ".join(f"WHEN {i} THEN '{a}'" for i, (a, _) in enumerate(values))
    second = " ".join(f"WHEN {i} THEN '{b}'" for i, (_, b) in enumerate(values))
    n = len(values)
    return f"CASE ({index}) % {n} {first} END", f"CASE ({index}) % {n} {second} END"


async def load(sessions: Sessions, first: int, last: int) -> float:
    """Write conversations ``first``..``last`` (1-based) with their Trackers and follow-ups.

    Note ``n`` belongs to Tracker ``n / 5``; its kind, employee and time follow from ``n`` (spread
    over 2025), so the data is the same on every run. Returns the seconds it took.
    """
    kind_type, kind_memo = _cases(KINDS, "t")
    group, task = _cases(TASKS, "n")
    began = time.perf_counter()
    async with sessions.begin() as session:
        await session.execute(
            text(
                "INSERT INTO employees (id, name, role) SELECT 'B' || lpad(e::text, 4, '0'), "
                "'Bench ' || e, 'employee' FROM generate_series(1, CAST(:n AS integer)) e "
                "ON CONFLICT DO NOTHING"
            ),
            {"n": EMPLOYEES},
        )
        await session.execute(
            text(
                "INSERT INTO trackers (id, member_id, account_suffix, tracker_type, single_type,"
                " description, created_at) "
                f"SELECT 'bt-' || t, (100000 + t)::text, '000', {kind_type}, NULL, 'Bench', "
                f"timestamptz '2025-01-01' FROM {SERIES} t"
            ),
            {"a": (first - 1) // NOTES_PER_TRACKER, "b": (last - 1) // NOTES_PER_TRACKER},
        )
        await session.execute(
            text(
                "INSERT INTO conversations (id, tracker_id, seq, created_at, employee_id, "
                "memo_type, need_group, task, text, idempotency_key) "
                "SELECT 'bc-' || n, 'bt-' || t, n % 5, "
                "timestamptz '2025-01-01' + (n::bigint * 7919 % 525600) * interval '1 minute', "
                "'B' || lpad((1 + n % :employees)::text, 4, '0'), "
                f"{kind_memo}, CASE WHEN t % 5 = 1 THEN {group} END, "
                f"CASE WHEN t % 5 = 1 THEN {task} END, 'Bench note ' || n, 'bk-' || n "
                f"FROM (SELECT n, (n - 1) / 5 AS t FROM {SERIES} n) s"
            ),
            {"a": first, "b": last, "employees": EMPLOYEES},
        )
        # One note in ten gets a follow-up; half of those are completed 0-13 days later.
        await session.execute(
            text(
                "INSERT INTO follow_ups (id, conversation_id, member_id, tracker_id, "
                "assignee_employee_id, assigned_by, due_on, status, completed_at, created_at, "
                "idempotency_key, thread_id) "
                "SELECT 'bf-' || c.id, c.id, t.member_id, t.id, c.employee_id, 'BENCH', "
                "(c.created_at + interval '7 days')::date, "
                "CASE WHEN s.n % 2 = 0 THEN 'completed' ELSE 'outstanding' END, "
                "CASE WHEN s.n % 2 = 0 THEN c.created_at + (s.n % 14) * interval '1 day' END, "
                "c.created_at, 'bfk-' || c.id, 'bf-' || c.id "
                f"FROM {SERIES} s(n) "
                "JOIN conversations c ON c.id = 'bc-' || s.n "
                "JOIN trackers t ON t.id = c.tracker_id WHERE s.n % 10 = 0"
            ),
            {"a": first, "b": last},
        )
    async with sessions.begin() as session:
        await session.execute(text("ANALYZE"))  # fresh statistics, as autovacuum would give
    return time.perf_counter() - began


async def naive_activity(sessions: Sessions, start: date, end: date, tz: str) -> int:
    """The baseline: fetch every note of the period and count in Python."""
    since, until = activity_reports.period_bounds(start, end, tz)
    c, t = ConversationRow, TrackerRow
    query = (
        select(c.employee_id, t.tracker_type, c.memo_type)
        .join(t, t.id == c.tracker_id)
        .where(c.created_at >= since, c.created_at < until)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return len(Counter((r[0], r[1], r[2]) for r in rows))


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """Median seconds of ``repeat`` calls (after one warm-up call)."""
    await call()
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)


async def measure(sessions: Sessions, ops: OpsConfig, repeat: int) -> dict[str, float]:
    """Each report's median time over the month and the year."""
    tz = ops.time_zone
    figures: dict[str, float] = {}
    for label, (start, end) in (("month", MONTH), ("year", YEAR)):
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "tracker-activity": partial(
                activity_reports.tracker_activity_report, sessions, start, end, time_zone=tz
            ),
            "follow-ups": partial(
                reports.follow_up_report, sessions, start, end, today=date(2025, 7, 1), time_zone=tz
            ),
            "cross-sales": partial(activity_reports.cross_sales_report, sessions, ops, start, end),
            "naive activity (Python count)": partial(naive_activity, sessions, start, end, tz),
        }
        for name, call in calls.items():
            figures[f"{name}, {label}"] = await timed(call, repeat)
    return figures


async def bench(server_url: str, sizes: list[int], repeat: int) -> None:
    """Load up to each size in turn, time the reports, print the figures and the ratios."""
    url = await fresh_database(server_url)
    await upgrade(url)
    engine = create_engine(url, pool_size=2)
    sessions = session_factory(engine)
    ops = OpsConfig()
    results: dict[int, dict[str, float]] = {}
    loaded = 0
    try:
        for size in sizes:
            seconds = await load(sessions, loaded + 1, size)
            loaded = size
            print(f"\nloaded {size:,} conversations ({seconds:.1f} s for this step)")
            results[size] = await measure(sessions, ops, repeat)
            for name, value in results[size].items():
                print(f"  {name:<42}{value * 1000:9.1f} ms")
            print(f"  peak RSS (this process)                   {peak_rss_mib():9.0f} MiB")
    finally:
        await engine.dispose()
    small, large = sizes[0], sizes[-1]
    if small != large:
        print(f"\nratio {large:,} / {small:,} conversations (same run):")
        for name in results[small]:
            ratio = results[large][name] / results[small][name]
            print(f"  {name:<42}{ratio:9.1f}x")
    print("\nSQL report vs naive fetch-and-count, Tracker activity (naive / SQL):")
    for size, figures in results.items():
        for label in ("month", "year"):
            ratio = (
                figures[f"naive activity (Python count), {label}"]
                / (figures[f"tracker-activity, {label}"])
            )
            print(f"  {size:>9,} conversations, {label:<5}{ratio:8.1f}x")


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with bench_database() as server_url:
        asyncio.run(bench(server_url, sizes, args.repeat))


if __name__ == "__main__":
    main()
