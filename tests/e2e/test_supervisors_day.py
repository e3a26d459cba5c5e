"""A supervisor's day through the public interfaces only: the CLI, HTTP and the running worker.

The core system's membership file is loaded (``memberflow members import``); the supervisor
floods the members with a credit-card lead (a mass lead batch with follow-ups for one employee)
and hands two of the leads to a colleague; each employee lists their leads and records an
outcome on each; the supervisor reads the cross-sales report (outcomes per employee and task)
and the follow-up report, and a member's Sales Tracker holds the closing note.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app
from workers.platform.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

TASK = "CCAPP"
"""Credit card application, a Next Suggested Product of the default operations file."""


def memberflow(app: RunningApp, *args: str) -> str:
    """Run the ``memberflow`` CLI against this stack's database; its standard output."""
    command = [str(Path(sys.executable).parent / "memberflow"), *args]
    env = {**os.environ, "MEMBERFLOW_DATABASE_URL": app.settings.database.url}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def employee(app: RunningApp, employee_id: str, role: str, supervisor: str | None = None) -> str:
    """``memberflow employees add``: the new employee's token."""
    args = ["employees", "add", employee_id, "--name", employee_id, "--role", role]
    out = memberflow(app, *args, *(["--supervisor", supervisor] if supervisor else []))
    return out.strip().splitlines()[-1]


@pytest_asyncio.fixture(loop_scope="session")
async def desk_app(base_settings: Settings, postgres_url: str) -> AsyncIterator[RunningApp]:
    """Worker and API on a free port."""
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("worker", "api"), api_port=free_port()
    ) as app:

        async def answering() -> bool:
            async with httpx.AsyncClient() as http:
                try:
                    url = f"http://127.0.0.1:{app.settings.api_port}/openapi.json"
                    return (await http.get(url)).status_code == 200
                except httpx.TransportError:
                    return False

        await eventually(answering, "the API to answer")
        yield app


async def eventually(call: Any, what: str, timeout: float = 60.0) -> Any:
    """Poll until the call returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        result = await call()
        if result:
            return result
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class Desk:
    """One employee's HTTP client."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer; any status but 2xx fails the test with the API's detail."""
        response = await self.http.request(method, path, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


async def test_a_supervisors_day(desk_app: RunningApp, tmp_path: Path) -> None:
    app = desk_app
    tag = uuid.uuid4().hex[:4].upper()
    boss, ann, bob = f"SV{tag}", f"AN{tag}", f"BO{tag}"
    base = f"http://127.0.0.1:{app.settings.api_port}"
    supervisor = Desk(base, employee(app, boss, "supervisor"))
    anne = Desk(base, employee(app, ann, "employee", boss))
    bobby = Desk(base, employee(app, bob, "employee", boss))
    first = 7_700_000 + int(tag, 16)
    members = [str(first + n * 100_000) for n in range(6)]
    closed = members[-1]

    # The core system's membership file: five open memberships and one closed last month.
    register = tmp_path / "memberships.csv"
    lines = ["member_id,opened_on,closed_on"]
    lines += [f"{m},2015-03-01," for m in members[:-1]]
    lines += [f"{closed},2015-03-01,{(date.today() - timedelta(days=30)).isoformat()}"]
    register.write_text("\n".join(lines) + "\n")
    memberflow(app, "members", "import", str(register))

    # A lead batch for the credit-card task, each lead a follow-up for Anne.
    due = (date.today() + timedelta(days=5)).isoformat()
    batch_id = f"cc-flood-{tag.lower()}"
    batch = {
        "batch_id": batch_id,
        "mode": "leads",
        "tracker_type": "ST",
        "memo_type": "SL",
        "task": TASK,
        "follow_up": {"employee_id": ann, "due_on": due},
        "members": members,
    }
    try:
        await supervisor.call("POST", "/mass-trackers", json=batch)

        async def report() -> Any:
            view = await supervisor.call("GET", f"/mass-trackers/{batch_id}")
            return view if view["report"] is not None else None

        done = await eventually(report, "the batch's report")
        assert done["report"]["created"] == 5 and done["report"]["skipped"] == 1
        assert done["report"]["follow_ups_opened"] == 5
        assert done["skipped"] == [{"member_id": closed, "reason": "membership closed"}]

        # Every lead reaches Anne's list (follow-up workflows start after the writes).
        async def annes_leads() -> Any:
            page = await anne.call("GET", "/sales-leads", params={"task": TASK})
            return page["items"] if len(page["items"]) == 5 else None

        leads = await eventually(annes_leads, "Anne's five leads")
        assert all(lead["task"]["code"] == TASK for lead in leads)

        # The supervisor hands two of them to Bob.
        for lead in leads[:2]:
            await supervisor.call(
                "POST",
                f"/follow-ups/{lead['follow_up_id']}/reassign",
                json={"assignee_employee_id": bob},
            )
        bobs = (await bobby.call("GET", "/sales-leads"))["items"]
        annes = (await anne.call("GET", "/sales-leads"))["items"]
        assert len(bobs) == 2 and len(annes) == 3

        # Each works their leads and records what happened.
        outcomes = {ann: ["processed", "contacted", "not_interested"], bob: ["processed"] * 2}
        for who, desk, mine in ((ann, anne, annes), (bob, bobby, bobs)):
            for lead, outcome in zip(mine, outcomes[who], strict=True):
                done_lead = await desk.call(
                    "POST",
                    f"/sales-leads/{lead['follow_up_id']}/outcome",
                    json={"outcome": outcome, "note": f"Called, {outcome}"},
                )
                assert done_lead["status"] == "completed" and done_lead["outcome"] == outcome
        assert (await anne.call("GET", "/sales-leads"))["items"] == []

        # The supervisor's reports for today.
        today = date.today().isoformat()
        period = {"from": today, "to": today}
        rows = await supervisor.call("GET", "/reports/cross-sales", params=period)
        mine = {r["employee_id"]: r for r in rows["items"] if r["employee_id"] in (ann, bob)}
        assert (mine[ann]["task"], mine[bob]["task"]) == (TASK, TASK)
        assert [mine[ann][k] for k in ("contacted", "processed", "not_interested")] == [1, 1, 1]
        assert [mine[bob][k] for k in ("contacted", "processed", "not_interested")] == [0, 2, 0]
        csv = await supervisor.http.get(
            "/reports/cross-sales", params=period, headers={"Accept": "text/csv"}
        )
        assert csv.status_code == 200 and "not_interested" in csv.text.splitlines()[0]
        figures = await supervisor.call("GET", "/reports/follow-ups", params=period)
        by_employee = {r["employee_id"]: r for r in figures["items"]}
        assert by_employee[ann]["completed"] == 3 and by_employee[ann]["outstanding"] == 0
        assert by_employee[bob]["completed"] == 2 and by_employee[bob]["outstanding"] == 0

        # The outcome is in the member's Sales Tracker, under the lead.
        member = bobs[0]["member_id"]
        trackers = await supervisor.call("GET", f"/members/{member}/trackers")
        texts = [c["text"] for t in trackers["items"] for c in t["conversations"]]
        assert any("Sales lead outcome: processed." in text for text in texts)
    finally:
        for desk in (supervisor, anne, bobby):
            await desk.http.aclose()
