"""``memberflow trackers purge``: verify a Tracker purge, then confirm it by its id.

The same two stages as ``POST /api/v1/tracker-purges`` (docs/http-api.md, "Tracker purges"),
run on the host against the database with the host's operations file. Without ``--confirm`` it
verifies and prints what would go, with the purge id to confirm; ``--confirm PURGE_ID`` deletes
exactly that. Each stage writes an access-trail row (``--by``, default ``cli``). A refusal exits
2 with the reason and deletes nothing.
"""

from __future__ import annotations

import asyncio
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from contracts.trackers.purge import PurgeCriteria, PurgeReport
from workers.platform.settings import Settings

console = Console()

BY = re.compile(r"^[A-Za-z0-9._-]{1,16}$")
"""Who purges, as the access trail's ``employee_id`` holds it."""


def register(trackers_app: typer.Typer) -> None:
    """Add ``purge`` to the ``memberflow trackers`` sub-app."""
    trackers_app.command("purge")(purge)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _settings() -> Settings:
    from deploy.stack import apply_stack_env

    apply_stack_env(Path(os.environ.get("MEMBERFLOW_STATE_DIR", ".state")))
    return Settings()


def show(report: PurgeReport) -> None:
    """Print a purge's report: counts per type and memo type, what is kept, and its stage."""
    table = Table(title=f"purge {report.purge_id} ({report.state})")
    for column in ("tracker type", "memo type", "conversations"):
        table.add_column(column)
    for count in report.counts:
        table.add_row(count.tracker_type, count.memo_type, str(count.conversations))
    console.print(table)
    print(f"conversations: {report.conversations}")
    print(f"trackers emptied (deleted with them): {report.trackers_emptied}")
    print(f"kept, open follow-up in their thread: {report.kept_open_follow_up}")
    print(f"kept, thread reaches beyond the criteria: {report.kept_thread_outside}")
    if report.state == "confirmed":
        print(
            f"deleted: {report.conversations_deleted} conversations, "
            f"{report.trackers_deleted} trackers"
        )
    else:
        print(f"to delete them: memberflow trackers purge --confirm {report.purge_id}")


def purge(
    tracker_types: Annotated[
        list[str] | None, typer.Option("--type", help="Tracker type (repeatable).")
    ] = None,
    memo_types: Annotated[
        list[str] | None, typer.Option("--memo-type", help="Memo type (repeatable).")
    ] = None,
    created_from: Annotated[
        str | None, typer.Option("--created-from", help="First day, YYYY-MM-DD.")
    ] = None,
    created_to: Annotated[
        str | None, typer.Option("--created-to", help="Last day (inclusive), YYYY-MM-DD.")
    ] = None,
    confirm: Annotated[
        str | None, typer.Option("--confirm", help="Delete what this verified purge listed.")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who is recorded as purging.")] = "cli",
) -> None:
    """Verify a purge (at least one criterion) and print what would go; --confirm deletes."""
    from pydantic import ValidationError

    if not BY.match(by):
        raise typer.BadParameter("--by: 1-16 characters of A-Z a-z 0-9 . _ -")
    if confirm is None:
        if not (tracker_types or memo_types or created_from or created_to):
            console.print(
                "[red]cannot purge:[/red] give at least one criterion: --type, --memo-type, "
                "--created-from or --created-to"
            )
            raise typer.Exit(2)
        try:
            criteria = PurgeCriteria(
                tracker_types=[t.upper() for t in tracker_types or []],
                memo_types=[m.upper() for m in memo_types or []],
                created_from=_day(created_from),
                created_to=_day(created_to),
            )
        except ValidationError as exc:
            reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            console.print(f"[red]cannot purge:[/red] {reasons}")
            raise typer.Exit(2) from None
        show(_run(criteria, None, by))
    else:
        if tracker_types or memo_types or created_from or created_to:
            console.print("[red]cannot purge:[/red] --confirm takes no criteria (verify did)")
            raise typer.Exit(2)
        show(_run(None, confirm, by))


def _run(criteria: PurgeCriteria | None, purge_id: str | None, by: str) -> PurgeReport:
    from workers.platform.database import engine_for, session_factory
    from workers.platform.errors import StoreError
    from workers.platform.migrate import upgrade
    from workers.platform.operations import load_ops_config
    from workers.trackers.purge_store import confirm_purge, verify_purge

    settings = _settings()

    async def run() -> PurgeReport:
        await upgrade(settings.database.url)
        ops = load_ops_config(settings.config_file)
        engine = engine_for(settings.database, pool_size=1)
        try:
            sessions = session_factory(engine)
            if purge_id is not None:
                return await confirm_purge(sessions, ops, purge_id, by=by, audit=True)
            assert criteria is not None  # purge() passes one or the other
            return await verify_purge(sessions, ops, criteria, by=by, audit=True)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except StoreError as exc:
        console.print(f"[red]cannot purge:[/red] {exc}")
        raise typer.Exit(2) from exc
