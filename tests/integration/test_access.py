"""Tokens with a lifetime and the access trail on real PostgreSQL, and their CLI commands.

Through the desk API (401, 429, a row per audited route, ``GET /audit``):
``tests/integration/test_desk_access.py``; the edge alone, with fakes: ``tests/unit/
test_access_control.py``.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner, Result

from contracts.platform.operations import OpsConfig
from workers.app.cli import app as cli
from workers.platform import credentials, employees
from workers.platform.audit import AuditAction, list_events, record_event
from workers.platform.database import Sessions, create_engine, session_factory
from workers.platform.errors import ConflictError
from workers.platform.migrate import alembic_config, current_revision, head_revision, upgrade

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

T0 = datetime(2031, 3, 2, 8, 0, tzinfo=UTC)


def new_id(prefix: str) -> str:
    """An employee id no other test uses."""
    return f"{prefix}{random.getrandbits(28):07x}"


# --- tokens -----------------------------------------------------------------------------------


async def test_a_token_works_until_its_expiry_and_not_after(sessions: Sessions) -> None:
    emp = new_id("X")
    token = await employees.add_employee(
        sessions, emp, "Expiring", "employee", lifetime=timedelta(hours=1), now=T0
    )
    just_before = await employees.employee_for_token(
        sessions, token, now=T0 + timedelta(minutes=59)
    )
    assert just_before is not None and just_before.id == emp
    assert await employees.employee_for_token(sessions, token, now=T0 + timedelta(hours=1)) is None


async def test_several_tokens_live_together_until_revoked_or_rotated(sessions: Sessions) -> None:
    emp = new_id("M")
    first = await employees.add_employee(sessions, emp, "Many", "employee", now=T0)
    second = await credentials.issue_employee_token(sessions, emp, now=T0)
    at = T0 + timedelta(hours=1)
    assert await employees.employee_for_token(sessions, first, now=at) is not None
    assert await employees.employee_for_token(sessions, second, now=at) is not None
    rotated = await credentials.issue_employee_token(sessions, emp, revoke_others=True, now=at)
    assert await employees.employee_for_token(sessions, first, now=at) is None
    assert await employees.employee_for_token(sessions, second, now=at) is None
    assert await employees.employee_for_token(sessions, rotated, now=at) is not None
    assert await credentials.revoke_employee_tokens(sessions, emp, now=at) == 1
    assert await employees.employee_for_token(sessions, rotated, now=at) is None
    # Revoking is not disabling: a new token works.
    fresh = await credentials.issue_employee_token(sessions, emp, now=at)
    assert await employees.employee_for_token(sessions, fresh, now=at) is not None


async def test_a_disabled_employee_is_refused_until_added_again(sessions: Sessions) -> None:
    emp = new_id("D")
    token = await employees.add_employee(sessions, emp, "Disabled", "employee", now=T0)
    assert await credentials.disable_employee(sessions, emp, now=T0) == 1
    assert await employees.employee_for_token(sessions, token, now=T0) is None
    with pytest.raises(ConflictError, match="is disabled"):
        await credentials.issue_employee_token(sessions, emp, now=T0)
    record = await employees.get_employee(sessions, emp)
    assert record is not None and not record.enabled
    again = await employees.add_employee(sessions, emp, "Disabled", "employee", now=T0)
    assert await employees.employee_for_token(sessions, again, now=T0) is not None
    assert await employees.employee_for_token(sessions, token, now=T0) is None  # stays revoked


async def test_removing_an_employee_from_the_configuration_revokes_their_tokens(
    sessions: Sessions, ops: OpsConfig
) -> None:
    listed, kept, cli_only = new_id("L"), new_id("K"), new_id("C")
    data = ops.model_dump()
    shipped = data["employees"]
    extra = [
        {"id": listed, "name": "Leaving", "role": "employee"},
        {"id": kept, "name": "Staying", "role": "employee"},
    ]
    await employees.sync_employees_from_config(
        sessions, OpsConfig.model_validate({**data, "employees": [*shipped, *extra]})
    )
    leaving = await employees.add_employee(sessions, listed, "Leaving", "employee")
    staying = await employees.add_employee(sessions, kept, "Staying", "employee")
    by_cli = await employees.add_employee(sessions, cli_only, "Only CLI", "employee")

    await employees.sync_employees_from_config(
        sessions, OpsConfig.model_validate({**data, "employees": [*shipped, extra[1]]})
    )
    assert await employees.employee_for_token(sessions, leaving) is None
    gone = await employees.get_employee(sessions, listed)
    assert gone is not None and not gone.enabled
    assert await employees.employee_for_token(sessions, staying) is not None
    assert await employees.employee_for_token(sessions, by_cli) is not None


# --- the access trail -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET status = 200 WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "TRUNCATE audit_events",
    ],
    ids=["update", "delete", "truncate"],
)
async def test_the_database_refuses_to_change_the_access_trail(
    sessions: Sessions, statement: str
) -> None:
    row_id = await record_event(
        sessions, employee_id="SR", action=AuditAction.MEMBER_MESSAGES_READ, status=403
    )
    with pytest.raises(DBAPIError, match="append-only"):
        async with sessions.begin() as session:
            await session.execute(text(statement), {"id": row_id})
    [kept] = await list_events(sessions, employee_id="SR", before_id=row_id + 1, limit=1)
    assert (kept.id, kept.status, kept.outcome) == (row_id, 403, "denied")


async def trail_of_one_member(sessions: Sessions) -> tuple[str, str, list[int]]:
    """Five rows for a new member by two new employees, an hour apart from T0."""
    member, first, second = str(random.randint(10**10, 10**11)), new_id("A"), new_id("B")
    ids = []
    for hour, who in enumerate((first, second, first, second, first)):
        ids.append(
            await record_event(
                sessions,
                employee_id=who,
                action=AuditAction.MEMBER_TRACKERS_READ,
                status=200,
                member_id=member,
                client_address="10.9.9.9",
                at=T0 + timedelta(hours=hour),
            )
        )
    return member, first, ids


async def test_the_trail_filters_by_member_employee_and_time_newest_first(
    sessions: Sessions,
) -> None:
    member, first, ids = await trail_of_one_member(sessions)
    everything = await list_events(sessions, member_id=member)
    assert [e.id for e in everything] == ids[::-1]
    mine = await list_events(sessions, member_id=member, employee_id=first)
    assert [e.id for e in mine] == [ids[4], ids[2], ids[0]]
    window = await list_events(
        sessions, member_id=member, since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)
    )
    assert [e.id for e in window] == [ids[3], ids[2], ids[1]]
    page = await list_events(sessions, member_id=member, limit=2)
    following = await list_events(sessions, member_id=member, limit=2, before_id=page[-1].id)
    assert [e.id for e in page + following] == [ids[4], ids[3], ids[2], ids[1]]


# --- the CLI ----------------------------------------------------------------------------------


def invoke(postgres_url: str, state: Path, *args: str) -> Result:
    """``memberflow ARGS`` against this session's database, in-process."""
    env = {
        "MEMBERFLOW_DATABASE_URL": postgres_url,
        "MEMBERFLOW_STATE_DIR": str(state),
        "COLUMNS": "200",  # rich wraps tables to the terminal's width
    }
    return CliRunner().invoke(cli, list(args), env=env)


async def run_cli(postgres_url: str, state: Path, *args: str) -> Result:
    """:func:`invoke` off the event loop (the commands run their own)."""
    return await asyncio.to_thread(invoke, postgres_url, state, *args)


def last_line(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


async def test_token_commands_end_to_end(
    sessions: Sessions, postgres_url: str, tmp_path: Path
) -> None:
    emp = new_id("E")

    async def works(token: str) -> bool:
        return await employees.employee_for_token(sessions, token) is not None

    added = last_line(await run_cli(postgres_url, tmp_path, "employees", "add", emp, "--name", "E"))
    second = last_line(await run_cli(postgres_url, tmp_path, "employees", "token", emp))
    assert added != second and await works(added) and await works(second)

    rotated = last_line(await run_cli(postgres_url, tmp_path, "employees", "rotate", emp))
    assert [await works(t) for t in (added, second, rotated)] == [False, False, True]

    revoke = await run_cli(postgres_url, tmp_path, "employees", "revoke", emp)
    assert last_line(revoke) == f"1 token(s) of employee {emp} revoked"
    assert not await works(rotated)

    third = last_line(await run_cli(postgres_url, tmp_path, "employees", "token", emp))
    disable = await run_cli(postgres_url, tmp_path, "employees", "disable", emp)
    assert last_line(disable) == f"employee {emp} disabled; 1 token(s) revoked"
    assert not await works(third)
    refused = await run_cli(postgres_url, tmp_path, "employees", "token", emp)
    assert refused.exit_code == 2 and "is disabled" in refused.output

    unknown = await run_cli(postgres_url, tmp_path, "employees", "revoke", new_id("U"))
    assert unknown.exit_code == 2 and "unknown employee" in unknown.output
    for verb in ("disable", "revoke", "rotate", "token"):
        bad = await run_cli(postgres_url, tmp_path, "employees", verb, "E\x00" + "x" * 20)
        assert bad.exit_code == 2 and "employee ids are 1-16 characters" in bad.output


async def test_audit_command_prints_a_table_or_json_lines(
    sessions: Sessions, postgres_url: str, tmp_path: Path
) -> None:
    member, first, ids = await trail_of_one_member(sessions)
    as_json = await run_cli(
        postgres_url, tmp_path, "audit", "--member-id", member, "--employee-id", first, "--json"
    )
    assert as_json.exit_code == 0, as_json.output
    rows: list[dict[str, Any]] = [json.loads(line) for line in as_json.output.splitlines()]
    assert [r["id"] for r in rows] == [ids[4], ids[2], ids[0]]
    assert {(r["action"], r["member_id"], r["outcome"]) for r in rows} == {
        ("member.trackers.read", member, "allowed")
    }
    since = (T0 + timedelta(hours=4)).isoformat()
    table = await run_cli(postgres_url, tmp_path, "audit", "--member-id", member, "--from", since)
    assert table.exit_code == 0, table.output
    assert first in table.output and "member.trackers.read" in table.output
    assert "10.9.9.9" in table.output and table.output.count(member) == 1

    for args, option in (
        (["--member-id", "12ab"], "member id must be 1-12 digits"),
        (["--employee-id", "S\x00R"], "employee ids are 1-16 characters"),
        (["--from", "yesterday"], "ISO 8601"),
        (["--to", "0001-01-01T00:00+14:00"], "between 2000-01-01 and 2099-12-31"),
        (["--from", "2031-03-02", "--to", "2031-03-01"], "must not be before"),
    ):
        refused = await run_cli(postgres_url, tmp_path, "audit", *args)
        assert refused.exit_code == 2 and option in refused.output


# --- migration 0003 ---------------------------------------------------------------------------

OLD_TOKEN = "issued-before-0003"


async def database_at_0002(postgres_url: str) -> str:
    """A new database at revision 0002 holding employee OLD with :data:`OLD_TOKEN`'s hash."""
    url = f"{postgres_url.rsplit('/', 1)[0]}/mf_mig_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        await admin.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    finally:
        await admin.close()
    await migrate(url, "0002")
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO employees (id, name, role, token_hash) "
                    "VALUES ('OLD', 'Old Timer', 'employee', :hash)"
                ),
                {"hash": employees.hash_token(OLD_TOKEN)},
            )
    finally:
        await engine.dispose()
    return url


async def migrate(url: str, revision: str, *, down: bool = False) -> None:
    """Up (or down) to ``revision`` exactly."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def test_migration_keeps_existing_tokens_working_for_one_lifetime(postgres_url: str) -> None:
    """A token issued before 0003 (a hash on the employee row) still works after it."""
    url = await database_at_0002(postgres_url)
    await upgrade(url)
    engine = create_engine(url, pool_size=1)
    try:
        found = await employees.employee_for_token(session_factory(engine), OLD_TOKEN)
        assert found is not None and found.id == "OLD"
        async with engine.connect() as connection:
            lifetime = await connection.scalar(
                text("SELECT expires_at - issued_at FROM employee_tokens WHERE employee_id='OLD'")
            )
            columns = await connection.scalar(
                text(
                    "SELECT count(*) FROM information_schema.columns "
                    "WHERE table_name = 'employees' AND column_name = 'token_hash'"
                )
            )
        assert lifetime == timedelta(hours=12) and columns == 0
    finally:
        await engine.dispose()


async def test_migration_0003_downgrades_with_the_live_token_back_on_the_row(
    postgres_url: str,
) -> None:
    url = await database_at_0002(postgres_url)
    await migrate(url, "0003")
    await migrate(url, "0002", down=True)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            restored = await connection.scalar(
                text("SELECT token_hash FROM employees WHERE id = 'OLD'")
            )
            tables = await connection.scalar(
                text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_name IN ('employee_tokens', 'audit_events')"
                )
            )
        assert restored == employees.hash_token(OLD_TOKEN) and tables == 0
    finally:
        await engine.dispose()


async def test_every_migration_downgrades_and_upgrades_again(postgres_url: str) -> None:
    """From head down to 0002 and back: each downgrade undoes its upgrade exactly."""
    url = await database_at_0002(postgres_url)
    await migrate(url, "head")
    await migrate(url, "0002", down=True)
    await migrate(url, "head")
    assert await current_revision(url) == head_revision()
