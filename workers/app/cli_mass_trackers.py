"""``memberflow trackers mass``: a mass Tracker batch from a CSV or Parquet member file.

Runs on the host with the store's and Temporal's credentials (like ``memberflow tiers run``):
the file is read here (column ``member_id``), the batch stored and its workflow started as
``POST /api/v1/mass-trackers`` does, then followed with a progress bar and its report printed.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contracts.trackers.mass import MassMode, MassTrackerProgress, MassTrackerView
from workers.platform.settings import Settings

console = Console()


def register(trackers_app: typer.Typer) -> None:
    """Add ``mass`` to the ``memberflow trackers`` sub-app."""
    trackers_app.command("mass")(mass)


def _default_batch_id(path: Path, *options: object) -> str:
    # The file's content and the options, not the file's name: the same command on the same
    # file again is the same batch (nothing new); other options make another batch.
    digest = hashlib.sha256(path.read_bytes())
    digest.update(repr(options).encode())
    return f"file-{digest.hexdigest()[:16]}"


def mass(
    file: Annotated[Path, typer.Option("--file", help="CSV or Parquet with a member_id column.")],
    mode: Annotated[MassMode, typer.Option(help="leads or notes")],
    requested_by: Annotated[
        str, typer.Option("--requested-by", help="Employee the notes are written as.")
    ],
    tracker_type: Annotated[str, typer.Option("--tracker-type")] = "ST",
    memo_type: Annotated[str, typer.Option("--memo-type")] = "SL",
    task: Annotated[str | None, typer.Option(help="Cross-sales Task (leads).")] = None,
    text: Annotated[str | None, typer.Option(help="The note (notes; leads: optional).")] = None,
    follow_up_employee: Annotated[str | None, typer.Option("--follow-up-employee")] = None,
    due: Annotated[str | None, typer.Option(help="Follow-up date, YYYY-MM-DD.")] = None,
    batch_id: Annotated[
        str | None, typer.Option("--batch-id", help="Default: from the file's content.")
    ] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size")] = 1_000,
) -> None:
    """Write one lead or note per listed member; a re-run of the same batch writes nothing."""
    from pydantic import ValidationError

    from contracts.trackers.mass import MassFollowUp, MassTrackerSpec

    if (follow_up_employee is None) != (due is None):
        raise typer.BadParameter("--follow-up-employee and --due go together")
    try:
        spec = MassTrackerSpec(
            batch_id=batch_id
            or _default_batch_id(
                file, mode, tracker_type, memo_type, task, text, follow_up_employee, due
            ),
            mode=mode,
            tracker_type=tracker_type,
            memo_type=memo_type,
            task=task,
            text=text,
            follow_up=(
                MassFollowUp(employee_id=follow_up_employee, due_on=date.fromisoformat(due))
                if follow_up_employee is not None and due is not None
                else None
            ),
        )
    except (ValidationError, ValueError, OSError) as err:
        console.print(f"[red]refused:[/red] {err}")
        raise typer.Exit(2) from err
    from workers.app.cli_tiers import _settings

    view = asyncio.run(_mass(_settings(), spec, file, requested_by, chunk_size))
    print_view(view)


async def _mass(
    settings: Settings, spec: Any, file: Path, requested_by: str, chunk_size: int
) -> MassTrackerView:
    from contracts.ids import mass_tracker_workflow_id
    from workers.platform import employees
    from workers.platform.clock import local_today
    from workers.platform.database import engine_for, session_factory
    from workers.platform.errors import StoreError
    from workers.platform.memberships import MemberFileError, read_file
    from workers.platform.operations import load_ops_config
    from workers.platform.temporal_client import connect
    from workers.trackers.mass_batches import start_batch, submit_batch
    from workers.trackers.mass_views import batch_view

    ops = load_ops_config(settings.config_file)
    engine = engine_for(settings.database, pool_size=2)
    sessions = session_factory(engine)
    try:
        try:
            members = [str(m or "").strip() for m in read_file(file, ("member_id",))["member_id"]]
            writer = await employees.get_employee(sessions, requested_by)
            if writer is None or not writer.enabled:
                raise typer.BadParameter(f"--requested-by {requested_by} is not a known employee")
            submitted = await submit_batch(
                sessions, ops, spec, members, requested_by=requested_by, as_of=local_today(ops)
            )
        except (MemberFileError, StoreError) as err:
            console.print(f"[red]refused:[/red] {err}")
            raise typer.Exit(2) from err
        console.print(
            f"batch {spec.batch_id}: {'stored' if submitted.created else 'already stored'}, "
            f"{submitted.members_total:,} members"
        )
        if submitted.state == "running":
            client = await connect(settings.temporal)
            await start_batch(
                client,
                settings.temporal.task_queue,
                spec,
                submitted.members_total,
                chunk_size=chunk_size,
            )
            handle = client.get_workflow_handle(mass_tracker_workflow_id(spec.batch_id))
            await _follow(handle, submitted.members_total)
        view = await batch_view(sessions, spec.batch_id, skipped_limit=20)
        assert view is not None
        return view
    finally:
        await engine.dispose()


async def _query(handle: Any) -> MassTrackerProgress | None:
    """The ``progress`` query, or None while no worker answers it (as ``tiers run``)."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError, RPCStatusCode

    try:
        progress: MassTrackerProgress = await handle.query(
            "progress", result_type=MassTrackerProgress
        )
    except WorkflowQueryFailedError:
        return None
    except RPCError as err:
        if err.status in (
            RPCStatusCode.FAILED_PRECONDITION,
            RPCStatusCode.CANCELLED,
            RPCStatusCode.DEADLINE_EXCEEDED,
        ):
            return None
        raise
    return progress


async def _follow(handle: Any, total: int) -> None:
    result = asyncio.ensure_future(handle.result())
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("writing", total=total)
        while not result.done():
            progress = await _query(handle)
            if progress is not None:
                bar.update(task, description=progress.phase, completed=progress.members_done)
            await asyncio.wait({result}, timeout=0.5)
    try:
        result.result()
    except Exception as err:  # the report below shows what was written; say why it stopped
        console.print(f"[red]batch failed:[/red] {err}")


def print_view(view: MassTrackerView) -> None:
    """The batch's report (or its progress so far) and its first skipped members."""
    summary = Table(title=f"Mass Trackers {view.batch_id}: {view.mode.value} {view.tracker_type}")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    counts = view.progress
    for label, value in (
        ("state", view.state),
        ("members", f"{view.members_total:,}"),
        ("duplicates in the list", f"{view.duplicates:,}"),
        ("created", f"{counts.created:,}"),
        ("appended", f"{counts.appended:,}"),
        ("skipped", f"{counts.skipped:,}"),
        ("follow-ups opened", f"{counts.follow_ups_opened:,}"),
        ("follow-ups started", f"{counts.follow_ups_started:,}"),
    ):
        summary.add_row(label, value)
    console.print(summary)
    if view.skipped:
        skipped = Table(title=f"Skipped (first {len(view.skipped)})")
        skipped.add_column("member")
        skipped.add_column("reason")
        for s in view.skipped:
            skipped.add_row(s.member_id, s.reason)
        console.print(skipped)
