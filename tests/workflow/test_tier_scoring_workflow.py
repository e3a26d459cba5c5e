"""``TierScoringWorkflow`` orchestration on the time-skipping server, with fake activities.

The fakes are registered under the real activity names and count every call, so the tests read
exactly which shard ran how often: a failed shard is retried alone, finished shards never run
again, and a validation failure stops the run before anything is recorded.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.tiers.runs import (
    FailureInput,
    FinishInput,
    PrepareInput,
    PrepareResult,
    PublishInput,
    PublishResult,
    RemoveShardsInput,
    ShardFiles,
    ShardInput,
    ShardResult,
    TierRunReport,
    TierScoringInput,
)
from workers.tiers.runs.report import build_report
from workflows.tiers.tier_scoring import TierScoringWorkflow, period_before

pytestmark = [pytest.mark.workflow, pytest.mark.asyncio(loop_scope="session")]


class FakeTierActivities:
    """Same activity names as ``TierActivities``; records calls, fails where told."""

    def __init__(self, *, shards: int = 4, fail_shard_once: int | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.shards = shards
        self.fail_shard_once = fail_shard_once
        self.failures: list[str] = []
        self.invalid: str | None = None
        self.bad_program_shard: int | None = None  # this shard fails for good
        self.hold_shards = False  # score_shard waits until cancelled
        self.held = asyncio.Event()  # set once a held score_shard is waiting
        self.removed: list[RemoveShardsInput] = []
        self.removal_fails = False

    def all(self) -> list[Any]:
        return [
            self.prepare,
            self.score_shard,
            self.publish_changes,
            self.finish,
            self.failure,
            self.remove_shards,
        ]

    @activity.defn(name="prepare")
    async def prepare(self, start: PrepareInput) -> PrepareResult:
        self.calls["prepare"] += 1
        if self.invalid:
            raise ApplicationError(self.invalid, type="ExtractError", non_retryable=True)
        return PrepareResult(
            period=start.period,
            program_name="test",
            members=100 * self.shards,
            work_folder="/nowhere",
            shards=[ShardFiles(index=i, folder=f"/s{i}", members=100) for i in range(self.shards)],
            previous_period="2026-09",
            previous_members=0,
            seconds=0.1,
        )

    @activity.defn(name="score_shard")
    async def score_shard(self, shard: ShardInput) -> ShardResult:
        index = shard.shard.index
        self.calls[f"score-{index}"] += 1
        if index == self.bad_program_shard:
            raise ApplicationError("item g9_nope: unknown item", type="ProgramError")
        if self.hold_shards:
            self.held.set()
            await asyncio.Event().wait()  # until the activity is cancelled
        if index == self.fail_shard_once and activity.info().attempt == 1:
            activity.heartbeat(1, 50)  # half the shard stored before the "crash"
            raise RuntimeError("worker lost mid-shard")
        resumed = (
            int(activity.info().heartbeat_details[0]) if activity.info().heartbeat_details else 0
        )
        return ShardResult(
            index=index,
            members_scored=100,
            members_changed=10,
            rows_written=100,
            counts_by_level={"BRZ": 60, "SLV": 40},
            movement={"none": {"BRZ": 60, "SLV": 40}},
            resumed_from_chunk=resumed,
        )

    @activity.defn(name="publish_changes")
    async def publish_changes(self, publish: PublishInput) -> PublishResult:
        self.calls[f"publish-{publish.shard.index}"] += 1
        return PublishResult(index=publish.shard.index, published=10, seconds=0.01)

    @activity.defn(name="finish")
    async def finish(self, finish: FinishInput) -> TierRunReport:
        self.calls["finish"] += 1
        return build_report(finish)

    @activity.defn(name="record_failure")
    async def failure(self, failure: FailureInput) -> None:
        self.calls["record_failure"] += 1
        self.failures.append(failure.message)

    @activity.defn(name="remove_shards")
    async def remove_shards(self, remove: RemoveShardsInput) -> None:
        self.calls["remove_shards"] += 1
        self.removed.append(remove)
        if self.removal_fails:
            raise ApplicationError("shard folder not removable", non_retryable=True)


async def _run(
    env: WorkflowEnvironment, fakes: FakeTierActivities, start: TierScoringInput
) -> TierRunReport:
    queue = f"tiers-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[TierScoringWorkflow],
        activities=fakes.all(),
    ):
        return await env.client.execute_workflow(
            TierScoringWorkflow.run,
            start,
            id=f"tier-scoring-{start.period}-{uuid.uuid4().hex[:6]}",
            task_queue=queue,
        )


async def test_every_shard_scored_and_published_once(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = FakeTierActivities(shards=4)
    report = await _run(time_skipping_env, fakes, TierScoringInput(period="2026-10"))
    assert report.members_scored == 400
    assert report.members_published == 40
    assert report.counts_by_level == {"BRZ": 240, "SLV": 160}
    assert report.movement == {"none": {"BRZ": 240, "SLV": 160}}
    assert {"prepare", "finish"} <= set(fakes.calls)
    assert all(fakes.calls[f"score-{i}"] == 1 for i in range(4))
    assert all(fakes.calls[f"publish-{i}"] == 1 for i in range(4))


async def test_failed_shard_retried_alone_and_resumes_from_heartbeat(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = FakeTierActivities(shards=3, fail_shard_once=1)
    report = await _run(time_skipping_env, fakes, TierScoringInput(period="2026-11"))
    assert fakes.calls["score-1"] == 2
    assert fakes.calls["score-0"] == fakes.calls["score-2"] == 1
    assert fakes.calls["prepare"] == 1
    assert report.members_scored == 300


async def test_invalid_extract_fails_without_recording(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = FakeTierActivities()
    fakes.invalid = "members.parquet: column member_id: row 3: duplicate member_id '17'"
    with pytest.raises(WorkflowFailureError) as failure:
        await _run(time_skipping_env, fakes, TierScoringInput(period="2026-12"))
    cause: Any = failure.value.cause
    assert cause is not None and "duplicate member_id" in str(cause.cause)
    assert fakes.calls["prepare"] == 1  # non-retryable: not attempted again
    assert not any(k.startswith("score") for k in fakes.calls)
    assert fakes.calls["record_failure"] == 0


async def test_completed_run_leaves_removal_to_finish(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    # finish removes the shard files itself: no extra activity, the command sequence of a
    # completed run is what it was before remove_shards existed.
    fakes = FakeTierActivities(shards=2)
    await _run(time_skipping_env, fakes, TierScoringInput(period="2026-08"))
    assert fakes.calls["finish"] == 1 and fakes.calls["remove_shards"] == 0


async def _started(
    env: WorkflowEnvironment, fakes: FakeTierActivities, period: str
) -> tuple[Any, Worker]:
    queue = f"tiers-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        env.client, task_queue=queue, workflows=[TierScoringWorkflow], activities=fakes.all()
    )
    handle = await env.client.start_workflow(
        TierScoringWorkflow.run,
        TierScoringInput(period=period, shard_count=2, max_concurrent_shards=2),
        id=f"tier-scoring-{period}-{uuid.uuid4().hex[:6]}",
        task_queue=queue,
    )
    return handle, worker


async def test_run_failing_midway_removes_its_shard_files(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = FakeTierActivities(shards=2)
    fakes.bad_program_shard = 1
    handle, worker = await _started(time_skipping_env, fakes, "2026-07")
    async with worker:
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert "g9_nope" in str(failure.value.cause)
    assert fakes.calls["score-1"] == 1  # ProgramError: not retried
    assert fakes.calls["record_failure"] == 1 and fakes.calls["finish"] == 0
    assert fakes.removed == [RemoveShardsInput(period="2026-07", run_id=handle.result_run_id)]


async def test_invalid_extract_removes_whatever_prepare_wrote(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = FakeTierActivities()
    fakes.invalid = "accounts.csv: line 3: not UTF-8"
    handle, worker = await _started(time_skipping_env, fakes, "2026-06")
    async with worker:
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert fakes.calls["prepare"] == 1 and fakes.calls["record_failure"] == 0
    assert [r.run_id for r in fakes.removed] == [handle.result_run_id]


async def test_cancelled_run_removes_its_shard_files(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = FakeTierActivities(shards=2)
    fakes.hold_shards = True
    handle, worker = await _started(time_skipping_env, fakes, "2026-05")
    async with worker:
        await fakes.held.wait()
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    # Cancelled while shards score: recorded as a failed run, like any stop after prepare.
    assert "Cancelled" in str(failure.value.cause)
    assert [r.run_id for r in fakes.removed] == [handle.result_run_id]
    assert fakes.calls["finish"] == 0


async def test_failed_removal_does_not_hide_why_the_run_failed(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = FakeTierActivities(shards=2)
    fakes.bad_program_shard = 0
    fakes.removal_fails = True
    handle, worker = await _started(time_skipping_env, fakes, "2026-04")
    async with worker:
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    cause: Any = failure.value.cause
    assert cause.type == "TierRunFailed" and "g9_nope" in cause.message
    assert fakes.calls["remove_shards"] == 1


async def test_period_before_uses_the_program_time_zone() -> None:
    # 02:00 on 1 Dec in Detroit is 07:00 UTC on 1 Dec: November is scored.
    assert period_before(datetime(2026, 12, 1, 7, 0, tzinfo=UTC), "America/Detroit") == "2026-11"
    # 02:00 on 1 Jan in Auckland is still 31 Dec in UTC: December is scored, not November.
    assert period_before(datetime(2026, 12, 31, 13, 0, tzinfo=UTC), "Pacific/Auckland") == "2026-12"
    assert period_before(datetime(2027, 1, 1, 7, 0, tzinfo=UTC), "America/Detroit") == "2026-12"


async def test_columnar_events_equal_the_model_events() -> None:
    import json

    import polars as pl

    from contracts.platform.events import new_event
    from contracts.tiers.events import TIER_LEVEL_CHANGED, TierLevelChanged
    from workers.platform.kafka_client import encode_event
    from workers.tiers.runs.events import level_change_values

    rows: list[dict[str, Any]] = [
        {
            "member_id": "100001",
            "total": 42,
            "level_code": "SLV",
            "level_name": 'Silver "S"',
            "previous_level_code": None,
        },
        {
            "member_id": "7",
            "total": -3,
            "level_code": "BAS",
            "level_name": "Basic Service",
            "previous_level_code": "BRZ",
        },
    ]
    now = datetime(2026, 11, 1, 7, 0, 0, 123456, tzinfo=UTC)
    # The reference: the same events built as models, one per member.
    models = [
        (
            row["member_id"],
            json.loads(
                encode_event(
                    new_event(
                        event_id=f"tier-level-2026-10-{row['member_id']}",
                        source="/memberflow/tiers",
                        event_type=TIER_LEVEL_CHANGED,
                        time=now,
                        data=TierLevelChanged(
                            member_id=row["member_id"],
                            period="2026-10",
                            points=row["total"],
                            level_code=row["level_code"],
                            level_name=row["level_name"],
                            previous_level_code=row["previous_level_code"],
                        ),
                        subject=row["member_id"],
                    )
                )
            ),
        )
        for row in rows
    ]
    frame = level_change_values("2026-10", pl.DataFrame(rows), now)
    columnar = [(k, json.loads(v)) for k, v in frame.iter_rows()]
    assert columnar == models
