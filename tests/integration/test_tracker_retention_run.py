"""The monthly retention purge and ``memberflow trackers purge`` on the real servers.

``TrackerRetentionWorkflow`` is run directly on a worker of the test's own, with an operations
file adding a type of its own (``RT``, purgeable, kept 6 months), so it deletes nothing any other
test wrote. The Schedule is checked absent by default and created and removed by the setting.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker
from typer.testing import CliRunner, Result

from contracts.ids import TRACKER_RETENTION_SCHEDULE_ID
from contracts.platform.operations import MemoType, OpsConfig, TrackerType
from contracts.trackers.purge import RETENTION_ACTOR, RetentionPurgeInput
from tests.integration.conftest import RunningApp, running_app
from workers.app.cli import app as cli
from workers.app.runtime import workflow_runner
from workers.platform.audit import list_events
from workers.platform.settings import Settings
from workers.trackers import tracker_store as trackers
from workers.trackers.records import ConversationRef
from workers.trackers.retention_activities import RetentionActivities
from workers.trackers.retention_schedule import ensure_retention_schedule
from workers.trackers.tables import ConversationRow, TrackerRow
from workflows.trackers.retention import TrackerRetentionWorkflow

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def retention_ops(base: OpsConfig) -> OpsConfig:
    """The shipped configuration plus ``RT``: purgeable, notes kept 6 months."""
    return OpsConfig(
        tracker_types=[
            *base.tracker_types,
            TrackerType(
                code="RT",
                description="Retention test",
                short_description="Retention",
                allow_purge=True,
                retention=6,
            ),
        ],
        memo_types=[*base.memo_types, MemoType(code="RT", description="Kept", tracker_type="RT")],
        employees=base.employees,
    )


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def running(base_settings: Settings, postgres_url: str) -> AsyncIterator[RunningApp]:
    """A worker with the default settings (the retention Schedule off)."""
    async with running_app(base_settings, postgres_url=postgres_url, parts=("worker",)) as app:
        yield app


async def note(app: RunningApp, ops: OpsConfig, member: str, at: datetime) -> ConversationRef:
    return await trackers.append_conversation(
        app.services.session_factory,
        ops,
        member_id=member,
        tracker_type="RT",
        memo_type="RT",
        employee_id="MG",
        text="Retention test note.",
        idempotency_key=f"rt-{uuid.uuid4()}",
        at=at,
    )


async def exists(app: RunningApp, row: type[ConversationRow | TrackerRow], key: str) -> bool:
    async with app.services.session_factory() as session:
        return await session.get(row, key) is not None


async def test_the_run_purges_what_is_past_retention(running: RunningApp) -> None:
    ops = retention_ops(running.services.ops)
    now = datetime.now(UTC)
    old_member, mixed_member = (str(random.randint(10**8, 10**9 - 1)) for _ in range(2))
    old = [await note(running, ops, old_member, now - timedelta(days=220)) for _ in range(3)]
    mixed_old = await note(running, ops, mixed_member, now - timedelta(days=230))
    mixed_new = await note(running, ops, mixed_member, now - timedelta(days=120))

    client = running.services.temporal
    queue = f"retention-{uuid.uuid4().hex[:8]}"
    sessions = running.services.session_factory
    async with Worker(
        client,
        task_queue=queue,
        workflows=[TrackerRetentionWorkflow],
        activities=RetentionActivities(sessions, ops).all(),
        workflow_runner=workflow_runner(),
    ):
        result = await client.execute_workflow(
            TrackerRetentionWorkflow.run,
            RetentionPurgeInput(chunk_size=2),
            id=f"tracker-retention-test-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
        )
    (report,) = result.purges
    assert result.skipped == []
    assert (report.origin, report.state, report.purge_types) == ("retention", "confirmed", ["RT"])
    assert (report.conversations, report.conversations_deleted) == (4, 4)
    assert (report.trackers_emptied, report.trackers_deleted) == (1, 1)
    assert report.criteria.created_to is not None
    assert report.criteria.created_to < (now - timedelta(days=120)).date()
    for gone in (*old, mixed_old):
        assert not await exists(running, ConversationRow, gone.conversation_id)
    assert not await exists(running, TrackerRow, old[0].tracker_id)
    assert await exists(running, ConversationRow, mixed_new.conversation_id)
    assert await exists(running, TrackerRow, mixed_new.tracker_id)
    trail = await list_events(sessions, employee_id=RETENTION_ACTOR, limit=20)
    assert [e.action for e in trail if e.record_id == report.purge_id] == [
        "tracker-purge.confirm",
        "tracker-purge.verify",
    ]


async def test_the_schedule_is_off_by_default_and_follows_the_setting(
    running: RunningApp,
) -> None:
    client = running.services.temporal
    assert running.settings.tracker_retention_schedule is False
    with pytest.raises(RPCError) as absent:
        await client.get_schedule_handle(TRACKER_RETENTION_SCHEDULE_ID).describe()
    assert absent.value.status == RPCStatusCode.NOT_FOUND

    schedule_id = f"tracker-retention-test-{uuid.uuid4().hex[:8]}"
    zone = running.services.ops.time_zone
    queue = running.settings.temporal.task_queue
    assert await ensure_retention_schedule(
        client, queue, zone, enabled=True, schedule_id=schedule_id
    )
    assert await ensure_retention_schedule(  # again: updated, not duplicated
        client, queue, zone, enabled=True, schedule_id=schedule_id
    )
    described = await client.get_schedule_handle(schedule_id).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "TrackerRetentionWorkflow"
    assert described.schedule.spec.time_zone_name == zone
    assert not await ensure_retention_schedule(
        client, queue, zone, enabled=False, schedule_id=schedule_id
    )
    with pytest.raises(RPCError):
        await client.get_schedule_handle(schedule_id).describe()


# --- the CLI ------------------------------------------------------------------------------------


def invoke(postgres_url: str, state: Path, *args: str) -> Result:
    env = {
        "MEMBERFLOW_DATABASE_URL": postgres_url,
        "MEMBERFLOW_STATE_DIR": str(state),
        "COLUMNS": "200",
    }
    return CliRunner().invoke(cli, ["trackers", "purge", *args], env=env)


async def test_the_cli_verifies_then_confirms(
    running: RunningApp, postgres_url: str, tmp_path: Path
) -> None:
    ops = running.services.ops
    on = date(1974, 1, 1) + timedelta(days=random.randrange(300))
    member = str(random.randint(10**8, 10**9 - 1))
    refs = [
        await trackers.append_conversation(
            running.services.session_factory,
            ops,
            member_id=member,
            tracker_type="MS",
            memo_type=memo,
            employee_id="MG",
            text="CLI purge note.",
            idempotency_key=f"cli-{uuid.uuid4()}",
            at=datetime(on.year, on.month, on.day, 15, tzinfo=UTC),
        )
        for memo in ("MS", "FU")
    ]

    def run(*args: str) -> Result:
        return invoke(postgres_url, tmp_path, *args)

    nothing = await asyncio.to_thread(run)
    assert nothing.exit_code == 2 and "give at least one criterion" in nothing.output
    refused = await asyncio.to_thread(run, "--type", "NT", "--created-to", "2019-12-31")
    assert refused.exit_code == 2 and "Tracker type NT does not allow purging" in refused.output

    window = ("--created-from", str(on), "--created-to", str(on))
    verified = await asyncio.to_thread(run, "--type", "MS", "--memo-type", "FU", *window)
    assert verified.exit_code == 0, verified.output
    assert "conversations: 1" in verified.output
    purge_id = verified.output.strip().splitlines()[-1].split("--confirm ")[1]
    assert await exists(running, ConversationRow, refs[1].conversation_id)

    confirmed = await asyncio.to_thread(run, "--confirm", purge_id, "--by", "OPS1")
    assert confirmed.exit_code == 0, confirmed.output
    assert "deleted: 1 conversations, 0 trackers" in confirmed.output
    assert not await exists(running, ConversationRow, refs[1].conversation_id)
    assert await exists(running, ConversationRow, refs[0].conversation_id)
    trail = await list_events(running.services.session_factory, employee_id="OPS1")
    assert [(e.action, e.record_id) for e in trail] == [("tracker-purge.confirm", purge_id)]
