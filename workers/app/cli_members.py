"""``memberflow members import FILE``: load the membership register from the core system.

The register (``memberships``) is what mass Tracker batches check members against. The file
is CSV or Parquet with ``member_id``, ``opened_on``, ``closed_on`` (empty while open); it is
validated as a whole before anything is written, then upserted: importing it again changes
nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

members_app = typer.Typer(help="The membership register (a sync of the core system).")
console = Console()


@members_app.command("import")
def import_members(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet: member_id, opened_on, closed_on")],
) -> None:
    """Validate FILE and upsert it into the register."""
    from workers.app.cli_tiers import _settings
    from workers.platform.database import engine_for, session_factory
    from workers.platform.memberships import MemberFileError, import_file
    from workers.platform.migrate import upgrade

    settings = _settings()

    async def load() -> None:
        await upgrade(settings.database.url)
        engine = engine_for(settings.database, pool_size=1)
        try:
            result = await import_file(session_factory(engine), file)
        finally:
            await engine.dispose()
        console.print(
            f"{result.rows:,} memberships: {result.inserted:,} new, {result.updated:,} changed, "
            f"{result.unchanged:,} unchanged"
        )

    try:
        asyncio.run(load())
    except MemberFileError as err:
        console.print(f"[red]refused:[/red] {err}")
        raise typer.Exit(2) from err
