"""``MassTrackerWorkflow`` orchestration on the time-skipping server, with fake activities
registered under the real names: the chunk ranges, follow-up starts only when asked, a failed
chunk retried alone, and a refused chunk marking the batch failed."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.trackers.mass import (
    MassChunkInput,
    MassChunkResult,
    MassMode,
    MassStartResult,
    MassTrackerInput,
    MassTrackerReport,
)
from workflows.trackers.mass_trackers import MassTrackerWorkflow

pytestmark = [pytest.mark.workflow, pytest.mark.asyncio(loop_scope="session")]


class Fakes:
    """Same names as ``MassTrackerActivities``; records the ranges, fails where told."""

    def __init__(self, *, fail_once: int | None = None, refuse: int | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.ranges: list[tuple[int, int]] = []
        self.started: list[tuple[int, int]] = []
        self.fail_once, self.refuse = fail_once, refuse

    def all(self) -> list[Any]:
        @activity.defn(name="mass_trackers.write_chunk")
        async def write_chunk(chunk: MassChunkInput) -> MassChunkResult:
            self.calls["write"] += 1
            if chunk.first_seq == self.refuse:
                raise ApplicationError("refused", type="ValidationError", non_retryable=True)
            if chunk.first_seq == self.fail_once:
                self.fail_once = None
                raise RuntimeError("database went away")
            self.ranges.append((chunk.first_seq, chunk.last_seq))
            size = chunk.last_seq - chunk.first_seq + 1
            return MassChunkResult(created=size - 1, skipped=1, follow_ups_opened=size - 1)

        @activity.defn(name="mass_trackers.start_follow_ups")
        async def start_follow_ups(chunk: MassChunkInput) -> MassStartResult:
            self.started.append((chunk.first_seq, chunk.last_seq))
            return MassStartResult(started=chunk.last_seq - chunk.first_seq)

        @activity.defn(name="mass_trackers.finish_batch")
        async def finish_batch(batch_id: str) -> MassTrackerReport:
            self.calls["finish"] += 1
            return MassTrackerReport(
                batch_id=batch_id,
                mode=MassMode.LEADS,
                tracker_type="ST",
                members_total=0,
                duplicates=0,
                created=0,
                appended=0,
                skipped=0,
                follow_ups_opened=0,
                follow_ups_started=0,
            )

        @activity.defn(name="mass_trackers.fail_batch")
        async def fail_batch(batch_id: str) -> None:
            self.calls["fail"] += 1

        return [write_chunk, start_follow_ups, finish_batch, fail_batch]


async def run(env: WorkflowEnvironment, fakes: Fakes, start: MassTrackerInput) -> Any:
    queue = f"mass-{uuid.uuid4().hex[:6]}"
    async with Worker(
        env.client, task_queue=queue, workflows=[MassTrackerWorkflow], activities=fakes.all()
    ):
        handle = await env.client.start_workflow(
            MassTrackerWorkflow.run, start, id=f"mass-trackers-{start.batch_id}", task_queue=queue
        )
        try:
            return await handle.result()
        finally:
            progress = await handle.query("progress")
            fakes.calls["progress_done"] = progress["members_done"]


async def test_chunks_cover_the_list_once_and_follow_ups_start_after(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(fail_once=1001)
    start = MassTrackerInput(batch_id="b1", members_total=2500, chunk_size=1000, follow_ups=True)
    await run(time_skipping_env, fakes, start)
    assert sorted(fakes.ranges) == [(1, 1000), (1001, 2000), (2001, 2500)]
    assert fakes.calls["write"] == 4  # the failed chunk retried alone
    assert sorted(fakes.started) == sorted(fakes.ranges)
    assert (fakes.calls["finish"], fakes.calls["fail"], fakes.calls["progress_done"]) == (
        1,
        0,
        2500,
    )


async def test_no_follow_up_starts_unless_asked(time_skipping_env: WorkflowEnvironment) -> None:
    fakes = Fakes()
    await run(time_skipping_env, fakes, MassTrackerInput(batch_id="b2", members_total=3))
    assert fakes.ranges == [(1, 3)] and fakes.started == []


async def test_a_refused_chunk_marks_the_batch_failed(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(refuse=11)
    start = MassTrackerInput(batch_id="b3", members_total=30, chunk_size=10)
    with pytest.raises(WorkflowFailureError):
        await run(time_skipping_env, fakes, start)
    assert (fakes.calls["fail"], fakes.calls["finish"]) == (1, 0)
