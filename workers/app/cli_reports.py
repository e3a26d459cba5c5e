"""``memberflow reports``: the supervisory reports on the host, as tables or CSV.

The same queries as ``GET /api/v1/reports/...`` (docs/http-api.md), read straight from the
database with the host's configuration, like ``memberflow ops``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from contracts.platform.operations import OpsConfig
from contracts.vocabulary import EARLIEST_DUE_DATE, LATEST_DUE_DATE
from workers.platform.database import Sessions
from workers.platform.settings import Settings

reports_app = typer.Typer(help="Supervisory reports: Tracker activity, follow-ups, cross-sales.")
console = Console()

Loader = Callable[[Sessions, OpsConfig, date, date], Awaitable[Sequence[BaseModel]]]


def _day(value: str) -> date:
    """A report date: YYYY-MM-DD within the span due dates have (2000-2099)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if not EARLIEST_DUE_DATE <= day <= LATEST_DUE_DATE:
        raise typer.BadParameter(f"must be between {EARLIEST_DUE_DATE} and {LATEST_DUE_DATE}")
    return day


FromOption = Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")]
ToOption = Annotated[str, typer.Option("--to", help="Last day (inclusive), YYYY-MM-DD.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Write CSV to stdout, not a table.")]


def _period(date_from: str, date_to: str) -> tuple[date, date]:
    start, end = _day(date_from), _day(date_to)
    if end < start:
        raise typer.BadParameter("--to must not be before --from")
    return start, end


def _settings() -> Settings:
    from deploy.stack import apply_stack_env

    apply_stack_env(Path(os.environ.get("MEMBERFLOW_STATE_DIR", ".state")))
    return Settings()


async def _load(load: Loader, start: date, end: date) -> Sequence[BaseModel]:
    from workers.platform.database import engine_for, session_factory
    from workers.platform.operations import load_ops_config

    settings = _settings()
    engine = engine_for(settings.database, pool_size=1)
    try:
        config = load_ops_config(settings.config_file)
        return await load(session_factory(engine), config, start, end)
    finally:
        await engine.dispose()


def show(title: str, model: type[BaseModel], rows: Sequence[BaseModel], as_csv: bool) -> None:
    """Print ``rows`` as a rich table (columns: the model's fields), or as CSV."""
    from workers.platform.web.csv_answers import csv_text

    columns = list(model.model_fields)
    if as_csv:
        sys.stdout.write(csv_text(rows, columns))
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        values = row.model_dump(mode="json")
        table.add_row(*("" if values[c] is None else str(values[c]) for c in columns))
    console.print(table)
    if not rows:
        console.print("(nothing in this period)")


def _run(
    title: str, load: Loader, model: type[BaseModel], start: date, end: date, csv: bool
) -> None:
    rows = asyncio.run(_load(load, start, end))
    show(f"{title}, {start} to {end}", model, rows, csv)


@reports_app.command("tracker-activity")
def tracker_activity(date_from: FromOption, date_to: ToOption, csv: CsvOption = False) -> None:
    """Notes written per employee, Tracker type and memo type."""
    from workers.trackers import activity_reports as ar

    async def load(sessions: Sessions, ops: OpsConfig, start: date, end: date) -> list[BaseModel]:
        return list(await ar.tracker_activity_report(sessions, start, end, time_zone=ops.time_zone))

    _run("Tracker activity", load, ar.TrackerActivityRow, *_period(date_from, date_to), csv)


@reports_app.command("follow-ups")
def follow_ups(date_from: FromOption, date_to: ToOption, csv: CsvOption = False) -> None:
    """Per assignee: outstanding, overdue, completed, mean and median days to complete."""
    from workers.platform.clock import local_today
    from workers.trackers import reports
    from workers.trackers.records import FollowUpReportRow

    async def load(sessions: Sessions, ops: OpsConfig, start: date, end: date) -> list[BaseModel]:
        today = local_today(ops)
        return list(
            await reports.follow_up_report(
                sessions, start, end, today=today, time_zone=ops.time_zone
            )
        )

    _run("Follow-ups", load, FollowUpReportRow, *_period(date_from, date_to), csv)


@reports_app.command("cross-sales")
def cross_sales(date_from: FromOption, date_to: ToOption, csv: CsvOption = False) -> None:
    """Per employee, need group and task: sales notes, follow-ups opened and completed, and the
    leads completed with each outcome (contacted, processed, not interested)."""
    from workers.trackers import activity_reports as ar

    async def load(sessions: Sessions, ops: OpsConfig, start: date, end: date) -> list[BaseModel]:
        return list(await ar.cross_sales_report(sessions, ops, start, end))

    _run("Cross-sales", load, ar.CrossSalesRow, *_period(date_from, date_to), csv)
