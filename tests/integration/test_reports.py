"""The supervisory reports on real servers: counts against notes and follow-ups written through
the store, CSV answers, and the refusals (403 for an employee, 422 for a bad period).

Employees here have ids of their own and the notes are dated in March 2041, so other tests'
data (in the same database) never lands in the rows checked."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app
from workers.app.cli import app as cli
from workers.platform.employees import add_employee
from workers.platform.settings import Settings
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PERIOD = {"from": "2041-03-01", "to": "2041-03-31"}
REPORTS = ("/reports/tracker-activity", "/reports/follow-ups", "/reports/cross-sales")


def noon(day: int, month: int = 3) -> datetime:
    """Noon UTC of a day in 2041: the same local date in any US time zone."""
    return datetime(2041, month, day, 12, tzinfo=UTC)


async def note(
    app: RunningApp, employee: str, tracker_type: str, memo_type: str, at: datetime, **extra: Any
) -> str:
    """A note written through the store for a new member; its conversation id."""
    written = await trackers.append_conversation(
        app.services.session_factory,
        app.services.ops,
        member_id=str(random.randint(10**8, 10**9 - 1)),
        tracker_type=tracker_type,
        memo_type=memo_type,
        employee_id=employee,
        text="Report test note.",
        idempotency_key=f"report-note-{uuid.uuid4()}",
        at=at,
        **extra,
    )
    return written.conversation_id


async def follow_up(
    app: RunningApp,
    conversation_id: str,
    assignee: str,
    opened: datetime,
    done: datetime | None,
    outcome: str | None = None,
) -> None:
    """A follow-up opened at ``opened``, completed at ``done`` (with a lead's outcome) if given."""
    sessions = app.services.session_factory
    record = await followups.open_follow_up(
        sessions,
        idempotency_key=f"report-fu-{uuid.uuid4()}",
        conversation_id=conversation_id,
        assignee_employee_id=assignee,
        assigned_by="MG",
        due_on=date(2041, 3, 20),
        at=opened,
        today=date(2041, 3, 1),
    )
    if done is not None:
        await followups.complete_follow_up(
            sessions,
            record.id,
            by_employee_id=assignee,
            idempotency_key=f"report-done-{uuid.uuid4()}",
            at=done,
            today=done.date(),
            outcome=outcome,
        )


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def world(base_settings: Settings, postgres_url: str) -> AsyncIterator[dict[str, Any]]:
    """The API, a supervisor S, employees A and B, and their notes and follow-ups.

    - A writes 3 MS notes in the period and 1 the day before it; S writes 3 MS notes, each with
      a follow-up for A completed after 1, 2 and 6 days (mean 3, median 2);
    - B writes 2 Sales notes for BORROW/CCAPP and 1 for SAVE/CERT; the CCAPP ones each get a
      follow-up for B, one completed as a lead with outcome ``processed``; the CERT one gets a
      follow-up for B completed with ``not_interested``.
    """
    port = free_port()
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("api",), api_port=port
    ) as app:
        sessions = app.services.session_factory
        tag = uuid.uuid4().hex[:6].upper()
        s, a, b = f"RS{tag}", f"RA{tag}", f"RB{tag}"
        tokens = {
            s: await add_employee(sessions, s, "Sue", "supervisor"),
            a: await add_employee(sessions, a, "Al", "employee", s),
            b: await add_employee(sessions, b, "Bo", "employee", s),
        }
        for _ in range(3):
            await note(app, a, "MS", "MS", noon(5))
        await note(app, a, "MS", "MS", noon(28, month=2))
        for days in (1, 2, 6):
            conversation = await note(app, s, "MS", "MS", noon(2))
            await follow_up(app, conversation, a, noon(2), noon(2) + timedelta(days=days))
        sales = {"need_group": "BORROW", "task": "CCAPP"}
        first = await note(app, b, "ST", "SL", noon(10), **sales)
        second = await note(app, b, "ST", "SL", noon(11), **sales)
        cert = await note(app, b, "ST", "SL", noon(12), need_group="SAVE", task="CERT")
        await follow_up(app, first, b, noon(10), noon(13), "processed")
        await follow_up(app, cert, b, noon(12), noon(14), "not_interested")
        await follow_up(app, second, b, noon(11), None)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1") as http:
            yield {"http": http, "tokens": tokens, "s": s, "a": a, "b": b}


async def get(
    world: dict[str, Any], path: str, who: str, params: dict[str, str], **headers: str
) -> httpx.Response:
    """GET ``path`` as employee ``who``."""
    auth = {"Authorization": f"Bearer {world['tokens'][who]}", **headers}
    response: httpx.Response = await world["http"].get(path, params=params, headers=auth)
    return response


def ours(world: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of this module's employees."""
    mine = {world["s"], world["a"], world["b"]}
    return [row for row in items if row["employee_id"] in mine]


async def test_tracker_activity_counts_notes_per_employee_type_and_memo(
    world: dict[str, Any],
) -> None:
    response = await get(world, "/reports/tracker-activity", world["s"], PERIOD)
    assert response.status_code == 200, response.text
    s, a, b = world["s"], world["a"], world["b"]
    assert ours(world, response.json()["items"]) == sorted(
        [
            {"employee_id": a, "tracker_type": "MS", "memo_type": "MS", "conversations": 3},
            {"employee_id": b, "tracker_type": "ST", "memo_type": "SL", "conversations": 3},
            {"employee_id": s, "tracker_type": "MS", "memo_type": "MS", "conversations": 3},
        ],
        key=lambda row: row["employee_id"],
    )
    # February alone holds A's one note written before the period.
    february = {"from": "2041-02-01", "to": "2041-02-28"}
    earlier = await get(world, "/reports/tracker-activity", world["s"], february)
    assert [r["conversations"] for r in ours(world, earlier.json()["items"])] == [1]


async def test_follow_up_report_adds_the_median(world: dict[str, Any]) -> None:
    response = await get(world, "/reports/follow-ups", world["s"], PERIOD)
    assert response.status_code == 200, response.text
    (row,) = [r for r in response.json()["items"] if r["employee_id"] == world["a"]]
    assert row["completed"] == 3
    assert row["mean_days_to_complete"] == 3.0
    assert row["median_days_to_complete"] == 2.0
    assert row["outstanding"] == 0


async def test_cross_sales_counts_notes_and_follow_ups_per_task(world: dict[str, Any]) -> None:
    response = await get(world, "/reports/cross-sales", world["s"], PERIOD)
    assert response.status_code == 200, response.text
    b = world["b"]
    assert ours(world, response.json()["items"]) == [
        {
            "employee_id": b,
            "need_group": "BORROW",
            "task": "CCAPP",
            "sales_notes": 2,
            "follow_ups_opened": 2,
            "follow_ups_completed": 1,
            "contacted": 0,
            "processed": 1,
            "not_interested": 0,
        },
        {
            "employee_id": b,
            "need_group": "SAVE",
            "task": "CERT",
            "sales_notes": 1,
            "follow_ups_opened": 1,
            "follow_ups_completed": 1,
            "contacted": 0,
            "processed": 0,
            "not_interested": 1,
        },
    ]


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/reports/tracker-activity", "employee_id,tracker_type,memo_type,conversations"),
        (
            "/reports/follow-ups",
            "employee_id,name,outstanding,overdue,completed,"
            "mean_days_to_complete,median_days_to_complete",
        ),
        (
            "/reports/cross-sales",
            "employee_id,need_group,task,sales_notes,follow_ups_opened,follow_ups_completed,"
            "contacted,processed,not_interested",
        ),
    ],
)
async def test_reports_answer_csv_when_asked(world: dict[str, Any], path: str, header: str) -> None:
    response = await get(world, path, world["s"], PERIOD, accept="text/csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    as_json = (await get(world, path, world["s"], PERIOD)).json()["items"]
    lines = response.text.split("\r\n")
    assert lines[0] == header
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(as_json)
    assert [r["employee_id"] for r in rows] == [r["employee_id"] for r in as_json]


@pytest.mark.parametrize("path", REPORTS)
async def test_reports_are_for_supervisors(world: dict[str, Any], path: str) -> None:
    response = await get(world, path, world["a"], PERIOD)
    assert response.status_code == 403
    assert "may not read reports" in response.json()["detail"]


@pytest.mark.parametrize("path", REPORTS)
@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"from": "2041-03-31", "to": "2041-03-01"}, "'to' must not be before 'from'"),
        ({"from": "1999-12-31", "to": "2041-03-01"}, "must be between 2000-01-01 and 2099-12-31"),
        ({"from": "2041-03-01", "to": "2100-01-01"}, "must be between 2000-01-01 and 2099-12-31"),
    ],
)
async def test_a_bad_period_is_422(
    world: dict[str, Any], path: str, params: dict[str, str], detail: str
) -> None:
    response = await get(world, path, world["s"], params)
    assert response.status_code == 422
    assert detail in str(response.json()["detail"])


def run_cli(postgres_url: str, state: Path, *args: str) -> tuple[int, str]:
    """``memberflow ARGS`` against this session's database, in-process: exit code, output."""
    env = {
        "MEMBERFLOW_DATABASE_URL": postgres_url,
        "MEMBERFLOW_STATE_DIR": str(state),
        "COLUMNS": "200",  # rich wraps tables to the terminal's width
    }
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


async def test_cli_prints_the_reports_as_tables_and_csv(
    world: dict[str, Any], postgres_url: str, tmp_path: Path
) -> None:
    period = ("--from", PERIOD["from"], "--to", PERIOD["to"])
    code, table = await asyncio.to_thread(
        run_cli, postgres_url, tmp_path, "reports", "cross-sales", *period
    )
    assert code == 0, table
    (line,) = [x for x in table.splitlines() if world["b"] in x and "CCAPP" in x]
    cells = [cell.strip() for cell in line.split("│") if cell.strip()]
    assert cells == [world["b"], "BORROW", "CCAPP", "2", "2", "1", "0", "1", "0"]
    code, text = await asyncio.to_thread(
        run_cli, postgres_url, tmp_path, "reports", "follow-ups", *period, "--csv"
    )
    assert code == 0, text
    rows = {r["employee_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows[world["a"]]["median_days_to_complete"] == "2.0"
    code, text = await asyncio.to_thread(
        run_cli, postgres_url, tmp_path, "reports", "tracker-activity", *period, "--csv"
    )
    assert code == 0, text
    mine = [r for r in csv.DictReader(io.StringIO(text)) if r["employee_id"] == world["a"]]
    assert mine == [
        {"employee_id": world["a"], "tracker_type": "MS", "memo_type": "MS", "conversations": "3"}
    ]


async def test_cli_refuses_a_bad_period(postgres_url: str, tmp_path: Path) -> None:
    code, output = await asyncio.to_thread(
        run_cli,
        postgres_url,
        tmp_path,
        "reports",
        "tracker-activity",
        "--from",
        "2041-03-31",
        "--to",
        "2041-03-01",
    )
    assert code == 2 and "--to must not be before --from" in output
