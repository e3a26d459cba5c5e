"""``memberflow employees disable|revoke|rotate|token`` and ``memberflow audit``.

Access management and the access trail on the command line (``employees add`` stays in
``cli.py``). Every command works on the database directly, so it is for operators, who hold
database access anyway; each refusal exits 2 with a reason and writes nothing.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from contracts.vocabulary import EARLIEST_DUE_DATE, LATEST_DUE_DATE, MEMBER_ID_PATTERN
from workers.platform.database import Sessions
from workers.platform.settings import Settings

console = Console()
T = TypeVar("T")

EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9._-]{1,16}$")
"""What ``employees.id`` holds (``EmployeeCode`` in contracts/platform/operations.py)."""


def _employee_id(value: str | None) -> str | None:
    # Refused before any server is contacted: a NUL or an overlong id is no employee's.
    if value is not None and not EMPLOYEE_ID.match(value):
        raise typer.BadParameter("employee ids are 1-16 characters of A-Z a-z 0-9 . _ -")
    return value


EmployeeArg = Annotated[
    str, typer.Argument(help="Short employee id, e.g. SR", callback=_employee_id)
]


def _settings() -> Settings:
    from deploy.stack import apply_stack_env

    apply_stack_env(Path(os.environ.get("MEMBERFLOW_STATE_DIR", ".state")))
    return Settings()


def _lifetime(settings: Settings) -> timedelta:
    return timedelta(hours=settings.token_lifetime_hours)


def _on_database(work: Callable[[Sessions, Settings], Awaitable[T]], what: str) -> T:
    """Run ``work`` against the configured database (migrated first); a store refusal exits 2."""
    from workers.platform.database import engine_for, session_factory
    from workers.platform.errors import StoreError
    from workers.platform.migrate import upgrade

    settings = _settings()

    async def run() -> T:
        await upgrade(settings.database.url)
        engine = engine_for(settings.database, pool_size=1)
        try:
            return await work(session_factory(engine), settings)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except StoreError as exc:
        console.print(f"[red]cannot {what}:[/red] {exc}")
        raise typer.Exit(2) from exc


def employees_disable(employee_id: EmployeeArg) -> None:
    """Disable an employee: every token of theirs is refused at once (`employees add` enables)."""
    from workers.platform.credentials import disable_employee

    async def work(sessions: Sessions, settings: Settings) -> int:
        return await disable_employee(sessions, employee_id)

    revoked = _on_database(work, f"disable {employee_id}")
    print(f"employee {employee_id} disabled; {revoked} token(s) revoked")


def employees_revoke(employee_id: EmployeeArg) -> None:
    """Revoke every token of an employee at once (the employee stays enabled)."""
    from workers.platform.credentials import revoke_employee_tokens

    async def work(sessions: Sessions, settings: Settings) -> int:
        return await revoke_employee_tokens(sessions, employee_id)

    revoked = _on_database(work, f"revoke the tokens of {employee_id}")
    print(f"{revoked} token(s) of employee {employee_id} revoked")


def employees_rotate(employee_id: EmployeeArg) -> None:
    """Revoke every token of an employee and print a new one on the last line."""
    _issue(employee_id, rotate=True)


def employees_token(employee_id: EmployeeArg) -> None:
    """Print a new token on the last line; earlier tokens keep working until they expire."""
    _issue(employee_id, rotate=False)


def _issue(employee_id: str, *, rotate: bool) -> None:
    from workers.platform.credentials import issue_employee_token

    async def work(sessions: Sessions, settings: Settings) -> tuple[str, float]:
        token = await issue_employee_token(
            sessions, employee_id, lifetime=_lifetime(settings), revoke_others=rotate
        )
        return token, settings.token_lifetime_hours

    token, hours = _on_database(work, f"issue a token for {employee_id}")
    earlier = "revoked" if rotate else "still valid until they expire"
    print(f"employee {employee_id}: earlier tokens {earlier}; new bearer token (shown once,")
    print(f"valid for {hours:g} h):")
    print(token)


MEMBER_ID = re.compile(MEMBER_ID_PATTERN)


def _member_id(value: str | None) -> str | None:
    if value is not None and not MEMBER_ID.match(value):
        raise typer.BadParameter("member id must be 1-12 digits")
    return value


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "must be an ISO 8601 date or time, e.g. 2026-12-03T08:00", param_hint=option
        ) from None
    # Far from the calendar's ends, where converting a moment to UTC could overflow.
    if not EARLIEST_DUE_DATE <= moment.date() <= LATEST_DUE_DATE:
        raise typer.BadParameter("must be between 2000-01-01 and 2099-12-31", param_hint=option)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def audit(
    member_id: Annotated[
        str | None, typer.Option(help="Only this member's (1-12 digits)", callback=_member_id)
    ] = None,
    employee_id: Annotated[
        str | None, typer.Option(help="Only this employee's", callback=_employee_id)
    ] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="ISO 8601, at or after (no offset: UTC)")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="ISO 8601, at or before (no offset: UTC)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Most rows shown")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The access trail, newest first: who read or changed what, for which member, from where."""
    from workers.platform.audit import AuditEvent, list_events

    since, until = _moment(date_from, "--from"), _moment(date_to, "--to")
    if since is not None and until is not None and until < since:
        raise typer.BadParameter("--to must not be before --from", param_hint="--to")

    async def work(sessions: Sessions, settings: Settings) -> list[AuditEvent]:
        return await list_events(
            sessions,
            member_id=member_id,
            employee_id=employee_id,
            since=since,
            until=until,
            limit=limit,
        )

    events = _on_database(work, "read the access trail")
    if as_json:
        for event in events:
            print(event.model_dump_json())
        return
    table = Table(title="Access trail, newest first", title_justify="left")
    for column in ("at", "employee", "action", "member", "record", "status", "from"):
        table.add_column(column)
    for event in events:
        table.add_row(
            event.at.isoformat(timespec="seconds"),
            event.employee_id,
            event.action,
            event.member_id or "",
            event.record_id or "",
            f"{event.status} {event.outcome.value}",
            event.client_address or "",
        )
    console.print(table if events else "no access trail rows match")


def register(app: typer.Typer, employees_app: typer.Typer) -> None:
    """Add these commands to the ``memberflow`` app and its ``employees`` group."""
    employees_app.command("disable")(employees_disable)
    employees_app.command("revoke")(employees_revoke)
    employees_app.command("rotate")(employees_rotate)
    employees_app.command("token")(employees_token)
    app.command("audit")(audit)
