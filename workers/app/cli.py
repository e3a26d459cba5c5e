"""The ``memberflow`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import click
import typer
from rich.console import Console
from rich.table import Table

from deploy.kafka_security import KAFKA_SECURITY_MODES, KafkaSecurityMode
from deploy.processes import StackError
from deploy.stack import LocalStack, apply_stack_env
from workers.app.cli_access import register as register_access_commands
from workers.app.cli_keys import keys_app
from workers.app.cli_members import members_app
from workers.app.cli_reports import reports_app
from workers.app.cli_tiers import tiers_app
from workers.app.cli_trackers import trackers_app
from workers.platform.settings import Settings

app = typer.Typer(help="memberflow: member-service workflows on Kafka, Temporal and PostgreSQL.")
stack_app = typer.Typer(help="The local stack: Kafka, Temporal (+ Web UI), PostgreSQL.")
run_app = typer.Typer(help="Run memberflow processes.")
app.add_typer(stack_app, name="stack")
employees_app = typer.Typer(help="Employees and their API tokens.")
app.add_typer(run_app, name="run")
app.add_typer(employees_app, name="employees")
register_access_commands(app, employees_app)
app.add_typer(tiers_app, name="tiers")
app.add_typer(keys_app, name="keys")
app.add_typer(reports_app, name="reports")
app.add_typer(trackers_app, name="trackers")
app.add_typer(members_app, name="members")

console = Console()
T = TypeVar("T")


def _state_dir() -> Path:
    return Path(os.environ.get("MEMBERFLOW_STATE_DIR", ".state"))


@stack_app.command("up")
def stack_up(
    headless: Annotated[bool, typer.Option(help="Temporal without its Web UI.")] = False,
    kafka_security: Annotated[
        str | None,
        typer.Option(
            click_type=click.Choice(KAFKA_SECURITY_MODES),
            help=(
                "Kafka's client listener: plaintext, or sasl_ssl (SCRAM-SHA-512 over TLS, "
                "certificates and password generated into the state folder). "
                "Default: what the stack last ran with, plaintext for a new one."
            ),
        ),
    ] = None,
) -> None:
    """Start Kafka, Temporal and PostgreSQL (idempotent) and create the topics."""
    mode = cast("KafkaSecurityMode | None", kafka_security)
    stack = LocalStack(_state_dir(), ui=not headless, kafka_security=mode)
    try:
        with console.status("starting PostgreSQL, Temporal and Kafka..."):
            state = stack.up()
    except StackError as exc:
        console.print(f"[red]stack up failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    apply_stack_env(_state_dir())
    from workers.platform.kafka_client import ensure_topics

    settings = Settings()
    asyncio.run(ensure_topics(settings.kafka, settings.topics.all_topics()))
    _print_status(stack, as_json=False)
    console.print("\nEnvironment for other shells:")
    for key, value in state.env().items():
        print(f"  export {key}={value}")


@stack_app.command("down")
def stack_down(
    purge: Annotated[bool, typer.Option(help="Also delete the servers' data.")] = False,
) -> None:
    """Stop every server of the local stack."""
    stopped = LocalStack(_state_dir()).down(purge=purge)
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@stack_app.command("status")
def stack_status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """One line per server: name, address, running or not."""
    _print_status(LocalStack(_state_dir()), as_json=as_json)


def _print_status(stack: LocalStack, *, as_json: bool) -> None:
    rows = stack.status()
    if as_json:
        print(json.dumps({row["name"]: row for row in rows}))
        return
    if not rows:
        print("no local stack recorded (memberflow stack up)")
        return
    for row in rows:
        state = "running" if row["running"] else "stopped"
        security = f" security={row['security']}" if "security" in row else ""
        print(
            f"{row['name']:<12} {row['address']:<22} {state:<8} pid={row['pid']} "
            f"rss={row['rss_mb']}MB start={row['start_seconds']}s{security}"
        )


def _settings() -> Settings:
    apply_stack_env(_state_dir())
    return Settings()


@run_app.command("worker")
def run_worker() -> None:
    """The Temporal worker: workflows and activities."""
    from workers.app.runtime import run

    _run(run(_settings(), ("worker",)))


@run_app.command("bridge")
def run_bridge() -> None:
    """The Kafka → Temporal bridge."""
    from workers.app.runtime import run

    _run(run(_settings(), ("bridge",)))


@run_app.command("api")
def run_api() -> None:
    """The employee desk HTTP API."""
    from workers.app.runtime import run

    _run(run(_settings(), ("api",)))


@run_app.command("all")
def run_all() -> None:
    """Bridge, worker and API in one process."""
    from workers.app.runtime import run

    _run(run(_settings(), ("worker", "bridge", "api")))


@run_app.command("codec-server")
def run_codec_server() -> None:
    """The codec server the Temporal UI and CLI decrypt payloads through (docs/security.md).

    Not part of ``run all``: it faces browsers (CORS) and is an operator's tool; ``memberflow
    stack up`` starts one for the local stack's UI.
    """
    from workers.app.codec_server import serve_codec
    from workers.platform.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    _run(serve_codec(settings))


@app.command("demo")
def demo(
    members: Annotated[int, typer.Option(help="Members to generate for the scoring run")] = 20_000,
    keep: Annotated[bool, typer.Option(help="Leave the stack and processes running")] = False,
) -> None:
    """Play the Private Contacts story and a tier scoring run on the local stack."""
    from workers.app.demo.story import run_demo

    run_demo(_state_dir(), members=members, keep=keep)


@app.command("ops")
def ops(
    member_id: Annotated[
        str | None,
        typer.Option(help="Only list this member's workflows (found by their MemberKey hash)"),
    ] = None,
) -> None:
    """Workflows by type and state, stuck or overdue work, dead-letter depth."""
    from workers.app.ops import OpsSnapshot, member_workflows, snapshot
    from workers.platform.database import engine_for, session_factory
    from workers.platform.operations import load_ops_config
    from workers.platform.temporal_client import connect

    settings = _settings()
    if member_id is not None:
        from workers.platform.member_search import member_search_key

        async def find() -> list[tuple[str, str, str]]:
            client = await connect(settings.temporal)
            return await member_workflows(client, member_search_key(settings.temporal), member_id)

        found = Table(title="The member's workflows", title_justify="left")
        for column in ("workflow id", "type", "status"):
            found.add_column(column)
        for workflow_id, workflow_type, status in _run(find()) or []:
            found.add_row(workflow_id, workflow_type, status)
        console.print(found)
        return

    async def collect() -> OpsSnapshot:
        engine = engine_for(settings.database, pool_size=2)
        try:
            client = await connect(settings.temporal)
            config = load_ops_config(settings.config_file)
            return await snapshot(settings, client, session_factory(engine), config)
        finally:
            await engine.dispose()

    view = _run(collect())
    if view is None:  # interrupted
        return
    workflows = Table(title="Workflows by type and state", title_justify="left")
    workflows.add_column("type")
    statuses = list(next(iter(view.workflows.values())).keys())
    for status in statuses:
        workflows.add_column(status, justify="right")
    for name, row in view.workflows.items():
        workflows.add_row(name, *(str(row[s]) for s in statuses))
    console.print(workflows)
    queue = Table(title="Contact Us queue", title_justify="left")
    for column in (*view.request_states, "queued > 1 day"):
        queue.add_column(column, justify="right")
    queue.add_row(*(str(v) for v in view.request_states.values()), str(view.stale_requests))
    console.print(queue)
    overdue = Table(title="Overdue follow-ups by assignee", title_justify="left")
    overdue.add_column("assignee")
    overdue.add_column("overdue", justify="right")
    for assignee, count in sorted(view.overdue_follow_ups.items()):
        overdue.add_row(assignee, str(count))
    console.print(overdue if view.overdue_follow_ups else "Overdue follow-ups: none")
    dead = Table(title="Dead-letter topics", title_justify="left")
    dead.add_column("topic")
    dead.add_column("records", justify="right")
    for topic, depth in view.dead_letters.items():
        dead.add_row(topic, str(depth))
    console.print(dead)


contracts_app = typer.Typer(help="The external contract as machine-readable documents.")
app.add_typer(contracts_app, name="contracts")


@contracts_app.command("export")
def contracts_export(
    out: Annotated[Path, typer.Option(help="Folder for the schema files")] = Path("docs/contracts"),
) -> None:
    """Write the JSON Schema of every Kafka message and configuration file."""
    from workers.app.contracts_export import export_schemas

    for path in export_schemas(out):
        print(path)


@employees_app.command("add")
def employees_add(
    employee_id: Annotated[str, typer.Argument(help="Short employee id, e.g. SR")],
    name: Annotated[str, typer.Option(help="Display name")],
    role: Annotated[
        str, typer.Option(help="employee, supervisor, operator or admin (docs/security.md)")
    ] = "employee",
    supervisor: Annotated[str | None, typer.Option(help="The employee's supervisor id")] = None,
    department: Annotated[
        list[str] | None,
        typer.Option(
            help="A department code of the operations file whose requests the employee works "
            "(repeat for several; none: only requests addressed to no department)"
        ),
    ] = None,
) -> None:
    """Create (or update) an employee and print a new bearer token on the last line.

    Role, supervisor and departments are set to what is given (an update replaces them).
    """
    from workers.platform.errors import StoreError

    async def add() -> str:
        from workers.platform.database import engine_for, session_factory
        from workers.platform.employees import add_employee
        from workers.platform.migrate import upgrade
        from workers.platform.operations import load_ops_config

        settings = _settings()
        known = {d.code for d in load_ops_config(settings.config_file).departments}
        await upgrade(settings.database.url)
        engine = engine_for(settings.database, pool_size=1)
        lifetime = timedelta(hours=settings.token_lifetime_hours)
        try:
            return await add_employee(
                session_factory(engine),
                employee_id,
                name,
                role,
                supervisor,
                departments=department or [],
                known_departments=known,
                lifetime=lifetime,
            )
        finally:
            await engine.dispose()

    try:
        token = asyncio.run(add())
    except StoreError as exc:
        console.print(f"[red]cannot add {employee_id}:[/red] {exc}")
        raise typer.Exit(2) from exc
    where = ", ".join(department or []) or "no department"
    print(f"employee {employee_id} ({role}; {where}) added; bearer token (shown once):")
    print(token)


def _run(coro: Coroutine[Any, Any, T]) -> T | None:
    """Run ``coro``; a missing key or contradictory Temporal setting is one line, exit 2."""
    from workers.platform.member_search import SearchKeyError
    from workers.platform.payload_codec import PayloadKeyError
    from workers.platform.temporal_client import TemporalConfigError

    try:
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(coro)
    except (PayloadKeyError, SearchKeyError, TemporalConfigError) as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    return None


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
        # The Temporal client's native threads can crash interpreter shutdown (sdk-python#300).
        os._exit(code)
    sys.stdout.flush()
    os._exit(0)
