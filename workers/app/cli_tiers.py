"""``memberflow tiers``: generate an extract, run a period, show a run's report."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contracts.tiers.runs import PERIOD_PATTERN, TierRunProgress, TierRunReport
from workers.platform.settings import Settings

if TYPE_CHECKING:
    from temporalio.client import WorkflowHandle

tiers_app = typer.Typer(help="Tiered Service scoring: extracts, monthly runs, reports.")
console = Console()


def _settings() -> Settings:
    from deploy.stack import apply_stack_env

    apply_stack_env(Path(os.environ.get("MEMBERFLOW_STATE_DIR", ".state")))
    return Settings()


def _period(value: str) -> str:
    if not PERIOD_PATTERN.match(value):
        raise typer.BadParameter("period must be YYYY-MM")
    return value


@tiers_app.command("generate")
def generate(
    members: Annotated[int, typer.Option(help="Number of members.")],
    period: Annotated[str, typer.Option(help="YYYY-MM", callback=_period)],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same extract).")] = 1,
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
) -> None:
    """Write a deterministic extract for PERIOD under the extract root."""
    from workers.tiers.generator import generate_extract

    if file_format not in ("parquet", "csv"):
        raise typer.BadParameter("--format must be parquet or csv")
    settings = _settings()
    folder = settings.tier_extract_root / period
    with console.status(f"generating {members:,} members into {folder} ..."):
        generate_extract(folder, members=members, seed=seed, period=period, file_format=file_format)
    console.print(f"extract for {period}: {folder}")


@tiers_app.command("run")
def run(
    period: Annotated[str, typer.Option(help="YYYY-MM", callback=_period)],
    rerun: Annotated[bool, typer.Option(help="Run again even if the period completed.")] = False,
) -> None:
    """Start (or join) the period's scoring run, follow it, and print its report."""
    report = asyncio.run(_run(_settings(), period, rerun))
    print_report(report)


async def query_progress(handle: WorkflowHandle[Any, TierRunReport]) -> TierRunProgress | None:
    """The run's ``progress`` query, or None while no worker answers it yet.

    Not an answer, and no reason to stop following the run: the query handler failed (an
    older worker without it), the server saw no poller on the task queue recently
    (``FAILED_PRECONDITION``), or the call timed out waiting for one (``CANCELLED`` or
    ``DEADLINE_EXCEEDED``). Anything else, e.g. the server unreachable, is raised.
    """
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError, RPCStatusCode

    no_answer_yet = (
        RPCStatusCode.FAILED_PRECONDITION,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.DEADLINE_EXCEEDED,
    )
    try:
        progress: TierRunProgress = await handle.query("progress", result_type=TierRunProgress)
    except WorkflowQueryFailedError:
        return None
    except RPCError as err:
        if err.status in no_answer_yet:
            return None
        raise
    return progress


async def _run(settings: Settings, period: str, rerun: bool) -> TierRunReport:
    from temporalio.client import WorkflowFailureError

    from workers.platform.temporal_client import connect
    from workers.tiers.runs.schedule import start_or_get_run

    client = await connect(settings.temporal)
    handle, started = await start_or_get_run(
        client, settings.temporal.task_queue, period, rerun=rerun
    )
    console.print(f"{'started' if started else 'following'} {handle.id}")
    result = asyncio.ensure_future(handle.result())
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("preparing", total=None)
        while not result.done():
            progress = await query_progress(handle)
            if progress is not None:
                bar.update(
                    task,
                    description=f"{progress.phase} (shards {progress.shards_scored}"
                    f"/{progress.shards_total} scored, {progress.members_published:,} events)",
                    total=progress.members_total or None,
                    completed=progress.members_scored,
                )
            await asyncio.wait({result}, timeout=0.5)
    try:
        return result.result()
    except WorkflowFailureError as err:
        cause: Any = err.cause
        while getattr(cause, "cause", None) is not None:
            cause = cause.cause
        console.print(f"[red]tier scoring {period} failed:[/red] {cause or err}")
        raise typer.Exit(1) from err


@tiers_app.command("report")
def report(period: Annotated[str, typer.Option(help="YYYY-MM", callback=_period)]) -> None:
    """Print the stored report of a period's run."""
    settings = _settings()

    async def load() -> dict[str, Any] | None:
        from workers.platform.database import engine_for, session_factory
        from workers.tiers.runs import persist

        engine = engine_for(settings.database, pool_size=1)
        try:
            async with persist.raw_connection(session_factory(engine)) as conn:
                return await persist.get_run(conn, period)
        finally:
            await engine.dispose()

    stored = asyncio.run(load())
    if stored is None:
        console.print(f"no tier scoring run for {period}")
        raise typer.Exit(1)
    if stored["report"] is None:
        console.print(f"{period}: {stored['state']} (no report yet)")
        raise typer.Exit(0 if stored["state"] == "running" else 1)
    print_report(TierRunReport.model_validate(stored["report"]))


def print_report(report: TierRunReport) -> None:
    """Print a run report as tables: summary, levels, movement, timings."""
    summary = Table(title=f"Tier scoring {report.period}: {report.program_name}")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    for label, value in (
        ("members scored", report.members_scored),
        ("level changed", report.members_changed),
        ("events published", report.members_published),
        ("rows written", report.rows_written),
        ("shards", report.shard_count),
    ):
        summary.add_row(label, f"{value:,}")
    console.print(summary)
    levels = Table(title="Members per level")
    levels.add_column("level")
    levels.add_column("members", justify="right")
    for level, count in report.counts_by_level.items():
        levels.add_row(level, f"{count:,}")
    console.print(levels)
    targets = sorted({t for row in report.movement.values() for t in row})
    movement = Table(title="Movement (previous → current)")
    movement.add_column("previous \\ current")
    for target in targets:
        movement.add_column(target, justify="right")
    for before, row in report.movement.items():
        movement.add_row(before, *(f"{row.get(t, 0):,}" for t in targets))
    console.print(movement)
    timings = Table(title="Timings (seconds)")
    timings.add_column("phase")
    timings.add_column("seconds", justify="right")
    for phase, seconds in report.timings.items():
        timings.add_row(phase, f"{seconds:.2f}")
    console.print(timings)
