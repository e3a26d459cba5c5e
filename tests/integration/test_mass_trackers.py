"""Mass Tracker batches (``/mass-trackers``, ``MassTrackerWorkflow``) on the real servers: both
modes, skipped members, follow-ups, re-submission and re-runs that write nothing new, a chunk
written twice at once, and the refusals."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Worker

from contracts.ids import follow_up_workflow_id, mass_tracker_workflow_id
from contracts.trackers.mass import (
    MassChunkInput,
    MassChunkResult,
    MassMode,
    MassTrackerInput,
    MassTrackerProgress,
    MassTrackerSpec,
)
from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app
from workers.app import cli_mass_trackers as cli
from workers.platform.audit import list_events
from workers.platform.employees import add_employee
from workers.platform.member_search import member_search_key
from workers.platform.memberships import (
    MemberFileError,
    import_file,
    import_memberships,
    raw_connection,
)
from workers.platform.settings import Settings
from workers.trackers import mass_writes
from workers.trackers import tracker_store as trackers
from workers.trackers.mass_activities import MassTrackerActivities
from workers.trackers.mass_batches import batch_plan, submit_batch
from workers.trackers.mass_views import batch_view
from workers.trackers.tables import ConversationRow, FollowUpRow, TrackerRow
from workflows.trackers.mass_trackers import MassTrackerWorkflow

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SUPERVISOR, EMPLOYEE, ASSIGNEE = "MTS", "MTE", "MTA"
TODAY = date.today()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def desk(base_settings: Settings, postgres_url: str) -> AsyncIterator[dict[str, Any]]:
    """Worker and API on the real servers; a supervisor, an employee, an assignee."""
    port = free_port()
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("worker", "api"), api_port=port
    ) as app:
        sessions = app.services.session_factory
        tokens = {
            SUPERVISOR: await add_employee(sessions, SUPERVISOR, "Sue Pervisor", "supervisor"),
            EMPLOYEE: await add_employee(sessions, EMPLOYEE, "Em Ployee", "employee"),
            ASSIGNEE: await add_employee(sessions, ASSIGNEE, "Ann Assignee", "employee"),
        }
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60
        ) as http:
            yield {"app": app, "http": http, "tokens": tokens}


def member() -> str:
    return str(random.randint(10**9, 10**10 - 1))


async def register(app: RunningApp, open_: list[str], closed: list[str]) -> None:
    """Open memberships, and closed ones (closed yesterday)."""
    opened = date(2010, 1, 1)
    rows: list[tuple[str, date, date | None]] = [(m, opened, None) for m in open_]
    rows += [(m, opened, TODAY - timedelta(days=1)) for m in closed]
    await import_memberships(app.services.session_factory, rows)


def as_(desk: dict[str, Any], who: str = SUPERVISOR) -> dict[str, str]:
    return {"Authorization": f"Bearer {desk['tokens'][who]}"}


async def post(desk: dict[str, Any], body: dict[str, Any], who: str = SUPERVISOR) -> httpx.Response:
    answer: httpx.Response = await desk["http"].post(
        "/mass-trackers", json=body, headers=as_(desk, who)
    )
    return answer


async def finished(desk: dict[str, Any], batch_id: str) -> dict[str, Any]:
    """The batch once its workflow completed (its report stored)."""
    for _ in range(300):
        answer = await desk["http"].get(f"/mass-trackers/{batch_id}", headers=as_(desk))
        assert answer.status_code == 200, answer.text
        view: dict[str, Any] = answer.json()
        if view["state"] != "running":
            return view
        await asyncio.sleep(0.2)
    raise AssertionError("the batch never finished")


async def conversations_of(app: RunningApp, members: list[str]) -> int:
    async with app.services.session_factory() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ConversationRow)
            .join(TrackerRow, TrackerRow.id == ConversationRow.tracker_id)
            .where(TrackerRow.member_id.in_(members))
        )
    return int(count or 0)


def leads(batch_id: str, members: list[str], **more: Any) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "mode": "leads",
        "tracker_type": "ST",
        "memo_type": "SL",
        "task": "CCAPP",
        "members": members,
        **more,
    }


async def test_leads_with_follow_ups_skip_unknown_and_closed_members(desk: dict[str, Any]) -> None:
    app = desk["app"]
    fresh, known, unknown, closed = member(), member(), member(), member()
    await register(app, [fresh, known], [closed])
    # The known member already has a Sales Tracker: ST is one per member, so the lead appends.
    earlier = await trackers.append_conversation(
        app.services.session_factory,
        app.services.ops,
        member_id=known,
        tracker_type="ST",
        memo_type="SL",
        employee_id=SUPERVISOR,
        text="Earlier lead.",
        idempotency_key=f"earlier-{uuid.uuid4()}",
        need_group="SAVE",
        task="CERT",
    )
    batch_id = f"leads-{uuid.uuid4().hex[:8]}"
    due = (TODAY + timedelta(days=7)).isoformat()
    body = leads(
        batch_id,
        [fresh, known, fresh, unknown, closed],
        follow_up={"employee_id": ASSIGNEE, "due_on": due},
    )
    answer = await post(desk, body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["created_now"] is True
    view = await finished(desk, batch_id)
    report = view["report"]
    assert view["state"] == "completed"
    assert (report["members_total"], report["duplicates"]) == (4, 1)
    assert (report["created"], report["appended"], report["skipped"]) == (1, 1, 2)
    assert report["skipped_by_reason"] == {"unknown member": 1, "membership closed": 1}
    assert (report["follow_ups_opened"], report["follow_ups_started"]) == (2, 2)
    assert {(s["member_id"], s["reason"]) for s in view["skipped"]} == {
        (unknown, "unknown member"),
        (closed, "membership closed"),
    }
    assert await conversations_of(app, [unknown, closed]) == 0
    async with app.services.session_factory() as session:
        notes = list(
            await session.scalars(
                select(ConversationRow)
                .join(TrackerRow, TrackerRow.id == ConversationRow.tracker_id)
                .where(TrackerRow.member_id.in_([fresh, known]))
                .where(ConversationRow.idempotency_key.like(f"mass/{batch_id}/%"))
            )
        )
        follow_ups = list(
            await session.scalars(
                select(FollowUpRow).where(FollowUpRow.member_id.in_([fresh, known]))
            )
        )
    assert len(notes) == 2
    assert {(n.need_group, n.task, n.employee_id, n.text) for n in notes} == {
        ("BORROW", "CCAPP", SUPERVISOR, "Lead: Credit card application")
    }
    appended = next(n for n in notes if n.tracker_id == earlier.tracker_id)
    assert appended.seq == 2
    assert {(f.assignee_employee_id, f.due_on.isoformat()) for f in follow_ups} == {(ASSIGNEE, due)}
    for follow_up in follow_ups:
        description = await app.services.temporal.get_workflow_handle(
            follow_up_workflow_id(follow_up.id)
        ).describe()
        assert description.workflow_type == "FollowUpWorkflow"
    progress = await app.services.temporal.get_workflow_handle(
        mass_tracker_workflow_id(batch_id)
    ).query("progress", result_type=MassTrackerProgress)
    assert (progress.phase, progress.members_done, progress.follow_ups_started) == ("done", 4, 2)
    # Nothing of a member in the workflow's ids or input: the batch id and ranges only.
    events = await list_events(app.services.session_factory, employee_id=SUPERVISOR)
    assert any(e.action == "mass-trackers.start" and e.record_id == batch_id for e in events)


async def test_notes_append_to_the_chosen_tracker_or_create_it(desk: dict[str, Any]) -> None:
    app = desk["app"]
    has_one, has_none = member(), member()
    await register(app, [has_one, has_none], [])
    first = await trackers.append_conversation(
        app.services.session_factory,
        app.services.ops,
        member_id=has_one,
        tracker_type="AT",
        memo_type="CW",
        employee_id=SUPERVISOR,
        text="Code word set.",
        idempotency_key=f"at-{uuid.uuid4()}",
    )
    batch_id = f"notes-{uuid.uuid4().hex[:8]}"
    body = {
        "batch_id": batch_id,
        "mode": "notes",
        "tracker_type": "AT",
        "memo_type": "EI",
        "text": "Privacy notice mailed to the whole group.",
        "members": [has_one, has_none],
    }
    assert (await post(desk, body)).status_code == 200
    report = (await finished(desk, batch_id))["report"]
    assert (report["created"], report["appended"], report["skipped"]) == (1, 1, 0)
    assert report["follow_ups_opened"] == 0
    at = await trackers.member_trackers(
        app.services.session_factory, has_one, today=TODAY, tracker_type="AT"
    )
    (tracker,) = at
    assert tracker.id == first.tracker_id
    assert [c.text for c in tracker.conversations] == [
        "Privacy notice mailed to the whole group.",
        "Code word set.",
    ]


async def test_a_resubmitted_or_rerun_batch_writes_nothing_new(desk: dict[str, Any]) -> None:
    app = desk["app"]
    members = [member() for _ in range(5)]
    await register(app, members, [])
    batch_id = f"rerun-{uuid.uuid4().hex[:8]}"
    body = leads(batch_id, members)
    assert (await post(desk, body)).status_code == 200
    first = (await finished(desk, batch_id))["report"]
    before = await conversations_of(app, members)
    assert before == 5
    again = await post(desk, body)
    assert again.status_code == 200, again.text
    assert again.json()["created_now"] is False
    # A re-run of the whole workflow (another run id on the same batch) finds every member
    # marked: nothing new, the same report.
    rerun = await app.services.temporal.execute_workflow(
        MassTrackerWorkflow.run,
        MassTrackerInput(batch_id=batch_id, members_total=5, chunk_size=2),
        id=f"{mass_tracker_workflow_id(batch_id)}-rerun",
        task_queue=app.settings.temporal.task_queue,
    )
    assert await conversations_of(app, members) == before
    assert (rerun.created, rerun.appended, rerun.skipped) == (
        first["created"],
        first["appended"],
        first["skipped"],
    )


async def test_a_chunk_written_twice_at_once_writes_each_member_once(
    desk: dict[str, Any],
) -> None:
    """Two attempts of one chunk racing (a retry while the first still runs), then the whole
    workflow: every member gets exactly one conversation."""
    app = desk["app"]
    sessions, ops = app.services.session_factory, app.services.ops
    members = [member() for _ in range(40)]
    await register(app, members[:30], members[30:35])
    batch_id = f"race-{uuid.uuid4().hex[:8]}"
    spec = MassTrackerSpec(
        batch_id=batch_id, mode=MassMode.LEADS, tracker_type="ST", memo_type="SL", task="DEBIT"
    )
    submitted = await submit_batch(
        sessions, ops, spec, members, requested_by=SUPERVISOR, as_of=TODAY
    )
    plan = await batch_plan(sessions, ops, batch_id)
    assert plan is not None

    async def attempt() -> Any:
        async with raw_connection(sessions) as conn:
            return await mass_writes.write_chunk(conn, plan, 1, 20)

    one, two = await asyncio.gather(attempt(), attempt())
    assert one == two
    assert (one.created, one.skipped) == (20, 0)
    assert await conversations_of(app, members) == 20
    # The rest through the workflow, as a worker would after a crash between chunks.
    report = await app.services.temporal.execute_workflow(
        MassTrackerWorkflow.run,
        MassTrackerInput(batch_id=batch_id, members_total=submitted.members_total, chunk_size=7),
        id=mass_tracker_workflow_id(batch_id),
        task_queue=app.settings.temporal.task_queue,
    )
    assert (report.created, report.appended, report.skipped) == (30, 0, 10)
    assert report.skipped_by_reason == {"membership closed": 5, "unknown member": 5}
    assert await conversations_of(app, members) == 30
    view = await batch_view(sessions, batch_id)
    assert view is not None and view.state == "completed"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"members": []}, "at least one member"),
        ({"members": ["12345678901234"]}, "1-12 digits"),
        ({"tracker_type": "MS", "memo_type": "MS"}, "cross-sales"),
        ({"task": "NOPE"}, "not a configured Task"),
        ({"task": None}, "needs a task"),
        ({"memo_type": "MS"}, "memo type MS does not belong"),
        ({"mode": "notes", "task": None}, "needs a text"),
        ({"follow_up": {"employee_id": "NOBODY", "due_on": "2027-01-01"}}, "unknown employee"),
        ({"batch_id": "has space"}, "batch_id"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_refusals_are_422_with_a_readable_reason(
    desk: dict[str, Any], change: dict[str, Any], expected: str
) -> None:
    secret = member()
    body = {**leads(f"bad-{uuid.uuid4().hex[:8]}", [secret]), **change}
    answer = await post(desk, body)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert expected in detail
    assert secret not in detail and "12345678901234" not in detail


async def test_other_content_under_a_batch_id_is_409_and_an_employee_is_403(
    desk: dict[str, Any],
) -> None:
    app = desk["app"]
    members = [member(), member()]
    await register(app, members, [])
    batch_id = f"conflict-{uuid.uuid4().hex[:8]}"
    assert (await post(desk, leads(batch_id, members))).status_code == 200
    other = await post(desk, leads(batch_id, members, task="CERT"))
    assert other.status_code == 409, other.text
    assert "different batch" in other.json()["detail"]
    refused = await post(desk, leads(f"emp-{uuid.uuid4().hex[:8]}", members), who=EMPLOYEE)
    assert refused.status_code == 403
    assert "may not run mass Tracker batches" in refused.json()["detail"]
    assert (
        await desk["http"].get("/mass-trackers", headers=as_(desk, EMPLOYEE))
    ).status_code == 403
    missing = await desk["http"].get("/mass-trackers/no-such-batch", headers=as_(desk))
    assert missing.status_code == 404
    listed = await desk["http"].get("/mass-trackers", headers=as_(desk))
    assert batch_id in {b["batch_id"] for b in listed.json()}
    await finished(desk, batch_id)


async def test_the_membership_import_is_validated_and_idempotent(
    desk: dict[str, Any], tmp_path: Path
) -> None:
    sessions = desk["app"].services.session_factory
    a, b = member(), member()
    good = tmp_path / "members.csv"
    good.write_text(f"member_id,opened_on,closed_on\n{a},2015-03-01,\n{b},2012-01-01,2020-05-31\n")
    first = await import_file(sessions, good)
    assert (first.rows, first.inserted, first.updated) == (2, 2, 0)
    again = await import_file(sessions, good)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    # Parquet too, member numbers stored as integers; a closing recorded since is an update.
    polars.DataFrame(
        {"member_id": [int(a)], "opened_on": [date(2015, 3, 1)], "closed_on": [date(2026, 1, 31)]}
    ).write_parquet(tmp_path / "members.parquet")
    closing = await import_file(sessions, tmp_path / "members.parquet")
    assert (closing.inserted, closing.updated) == (0, 1)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"member_id,opened_on,closed_on\n{a},2015-03-01,\nx{b},2012-01-01,\n")
    with pytest.raises(MemberFileError, match="rows \\[2\\]") as refused:
        await import_file(sessions, bad)
    assert b not in str(refused.value)


async def test_the_workflow_history_holds_no_member_numbers(desk: dict[str, Any]) -> None:
    app = desk["app"]
    members = [member(), member()]
    await register(app, members, [])
    batch_id = f"hist-{uuid.uuid4().hex[:8]}"
    assert (await post(desk, leads(batch_id, members))).status_code == 200
    await finished(desk, batch_id)
    handle = app.services.temporal.get_workflow_handle(mass_tracker_workflow_id(batch_id))
    try:
        history = await handle.fetch_history()
    except RPCError as err:  # pragma: no cover - the server keeps closed histories
        pytest.fail(str(err))
    # Decoded by the client's codec: what an operator with the keys would read.
    text = history.to_json()
    assert members[0] not in text and members[1] not in text


async def test_the_cli_reads_a_file_follows_the_batch_and_prints_the_report(
    desk: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = desk["app"]
    listed = [member() for _ in range(6)]
    await register(app, listed[:5], [])
    path = tmp_path / "members.csv"
    path.write_text("member_id\n" + "\n".join([*listed, listed[0]]) + "\n")
    spec = MassTrackerSpec(
        batch_id=f"cli-{uuid.uuid4().hex[:8]}",
        mode=MassMode.LEADS,
        tracker_type="ST",
        memo_type="SL",
        task="ESTMT",
    )
    view = await cli._mass(app.settings, spec, path, SUPERVISOR, 2)
    assert (view.state, view.members_total, view.duplicates) == ("completed", 6, 1)
    assert (view.progress.created, view.progress.skipped) == (5, 1)
    cli.print_view(view)
    printed = capsys.readouterr().out
    assert "created" in printed and "unknown member" in printed
    again = await cli._mass(app.settings, spec, path, SUPERVISOR, 2)
    assert again.progress == view.progress
    assert await conversations_of(app, listed) == 5


class LosesOneResult(MassTrackerActivities):
    """A worker that dies after a chunk committed, before Temporal heard of it (once)."""

    lost = False

    @activity.defn(name="mass_trackers.write_chunk")
    async def write_chunk(self, chunk: MassChunkInput) -> MassChunkResult:
        result = await super().write_chunk(chunk)
        if chunk.first_seq > 1 and not self.lost:
            LosesOneResult.lost = True
            raise RuntimeError("worker died after the commit")
        return result


async def test_a_chunk_whose_result_was_lost_is_not_written_again(desk: dict[str, Any]) -> None:
    app = desk["app"]
    members = [member() for _ in range(9)]
    await register(app, members, [])
    batch_id = f"lost-{uuid.uuid4().hex[:8]}"
    spec = MassTrackerSpec(
        batch_id=batch_id, mode=MassMode.NOTES, tracker_type="MS", memo_type="MS", text="Mailer."
    )
    sessions, ops = app.services.session_factory, app.services.ops
    await submit_batch(sessions, ops, spec, members, requested_by=SUPERVISOR, as_of=TODAY)
    queue = f"mass-lost-{uuid.uuid4().hex[:6]}"
    activities = LosesOneResult(sessions, ops, member_search_key(app.settings.temporal))
    client = app.services.temporal
    async with Worker(
        client, task_queue=queue, workflows=[MassTrackerWorkflow], activities=activities.all()
    ):
        report = await client.execute_workflow(
            MassTrackerWorkflow.run,
            MassTrackerInput(batch_id=batch_id, members_total=9, chunk_size=4),
            id=mass_tracker_workflow_id(batch_id),
            task_queue=queue,
        )
    assert LosesOneResult.lost
    assert (report.created, report.appended, report.skipped) == (9, 0, 0)
    assert await conversations_of(app, members) == 9


class RefusesSecondChunk(MassTrackerActivities):
    """A chunk refused for good (as a value the store can never hold would be)."""

    @activity.defn(name="mass_trackers.write_chunk")
    async def write_chunk(self, chunk: MassChunkInput) -> MassChunkResult:
        if chunk.first_seq > 1:
            raise ApplicationError("refused", type="ValidationError", non_retryable=True)
        return await super().write_chunk(chunk)


async def test_a_failed_batch_submitted_again_resumes_where_it_stopped(
    desk: dict[str, Any],
) -> None:
    app = desk["app"]
    members = [member() for _ in range(6)]
    await register(app, members, [])
    batch_id = f"resume-{uuid.uuid4().hex[:8]}"
    body = leads(batch_id, members)
    spec = MassTrackerSpec.model_validate({k: v for k, v in body.items() if k != "members"})
    sessions, ops = app.services.session_factory, app.services.ops
    await submit_batch(sessions, ops, spec, members, requested_by=SUPERVISOR, as_of=TODAY)
    queue = f"mass-refuse-{uuid.uuid4().hex[:6]}"
    activities = RefusesSecondChunk(sessions, ops, member_search_key(app.settings.temporal))
    client = app.services.temporal
    async with Worker(
        client, task_queue=queue, workflows=[MassTrackerWorkflow], activities=activities.all()
    ):
        with pytest.raises(WorkflowFailureError):
            await client.execute_workflow(
                MassTrackerWorkflow.run,
                MassTrackerInput(batch_id=batch_id, members_total=6, chunk_size=3),
                id=mass_tracker_workflow_id(batch_id),
                task_queue=queue,
            )
    failed = await batch_view(sessions, batch_id)
    assert failed is not None and (failed.state, failed.progress.done) == ("failed", 3)
    assert await conversations_of(app, members) == 3
    again = await post(desk, body)
    assert again.status_code == 200, again.text
    view = await finished(desk, batch_id)
    assert view["state"] == "completed"
    assert view["report"]["created"] == 6
    assert await conversations_of(app, members) == 6
