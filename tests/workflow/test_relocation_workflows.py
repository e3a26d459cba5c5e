"""``ConsolidateTrackersWorkflow`` and ``CopyTrackerWorkflow`` on the time-skipping server, with
fake activities registered under the real names: results handed through, refusals ending the
run failed with their type and never retried, a failed copy write retried without planning
again."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.ids import tracker_consolidation_workflow_id, tracker_copy_workflow_id
from contracts.trackers.relocations import (
    ConsolidationInput,
    ConsolidationResult,
    CopiedConversation,
    CopyInput,
    CopyPlan,
    CopyResult,
    CopyStep,
)
from workflows.trackers.relocations import ConsolidateTrackersWorkflow, CopyTrackerWorkflow

pytestmark = [pytest.mark.workflow, pytest.mark.asyncio(loop_scope="session")]

TASK_QUEUE = "relocations-test"
CONSOLIDATION = ConsolidationInput(
    consolidation_id="c-1", member_id="000000000001", tracker_ids=["T2", "T1"], employee_id="S1"
)
COPY = CopyInput(
    copy_id="k-1",
    member_id="000000000001",
    tracker_id="T1",
    to_member_id="000000000002",
    employee_id="S1",
)


class Fakes:
    """Same names as ``RelocationActivities``; counts calls, refuses or fails where told."""

    def __init__(self, *, refuse: bool = False, fail_copy_once: bool = False) -> None:
        self.calls: Counter[str] = Counter()
        self.steps: list[CopyStep] = []
        self.refuse, self.fail_copy_once = refuse, fail_copy_once

    def all(self) -> list[Any]:
        """The fake activities."""

        @activity.defn(name="relocations.consolidate_trackers")
        async def consolidate_trackers(request: ConsolidationInput) -> ConsolidationResult:
            self.calls["consolidate"] += 1
            if self.refuse:
                raise ApplicationError(
                    "Tracker type XX does not allow moving", type="Conflict", non_retryable=True
                )
            return ConsolidationResult(
                consolidation_id=request.consolidation_id,
                tracker_id="T1",
                removed_tracker_id="T2",
                moved=3,
            )

        @activity.defn(name="relocations.plan_copy")
        async def plan_copy(request: CopyInput) -> CopyPlan:
            self.calls["plan"] += 1
            return CopyPlan(source_conversation_ids=["C1", "C2"])

        @activity.defn(name="relocations.copy_conversations")
        async def copy_conversations(step: CopyStep) -> CopyResult:
            self.calls["copy"] += 1
            self.steps.append(step)
            if self.fail_copy_once:
                self.fail_copy_once = False
                raise RuntimeError("database went away")
            return CopyResult(
                copy_id=step.request.copy_id,
                tracker_id="T9",
                copies=[
                    CopiedConversation(source_conversation_id=c, conversation_id=f"copy-{c}")
                    for c in step.source_conversation_ids
                ],
            )

        return [consolidate_trackers, plan_copy, copy_conversations]


def _worker(env: WorkflowEnvironment, fakes: Fakes) -> Worker:
    return Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[ConsolidateTrackersWorkflow, CopyTrackerWorkflow],
        activities=fakes.all(),
    )


async def test_a_consolidation_answers_with_its_activitys_result(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes()
    async with _worker(time_skipping_env, fakes):
        result = await time_skipping_env.client.execute_workflow(
            ConsolidateTrackersWorkflow.run,
            CONSOLIDATION,
            id=tracker_consolidation_workflow_id("c-1"),
            task_queue=TASK_QUEUE,
        )
    assert (result.tracker_id, result.removed_tracker_id, result.moved) == ("T1", "T2", 3)
    assert fakes.calls == Counter(consolidate=1)


async def test_a_refusal_ends_the_run_with_its_type_and_is_not_retried(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(refuse=True)
    async with _worker(time_skipping_env, fakes):
        with pytest.raises(WorkflowFailureError) as failed:
            await time_skipping_env.client.execute_workflow(
                ConsolidateTrackersWorkflow.run,
                CONSOLIDATION,
                id=tracker_consolidation_workflow_id("c-2"),
                task_queue=TASK_QUEUE,
            )
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message) == ("Conflict", "Tracker type XX does not allow moving")
    assert fakes.calls == Counter(consolidate=1)


async def test_a_copy_writes_the_plan_and_a_retried_write_does_not_plan_again(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(fail_copy_once=True)
    async with _worker(time_skipping_env, fakes):
        result = await time_skipping_env.client.execute_workflow(
            CopyTrackerWorkflow.run,
            COPY,
            id=tracker_copy_workflow_id("k-1"),
            task_queue=TASK_QUEUE,
        )
    assert [c.conversation_id for c in result.copies] == ["copy-C1", "copy-C2"]
    assert fakes.calls == Counter(plan=1, copy=2)
    assert all(s.source_conversation_ids == ["C1", "C2"] for s in fakes.steps)
