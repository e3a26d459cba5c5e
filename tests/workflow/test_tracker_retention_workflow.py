"""``TrackerRetentionWorkflow`` on the time-skipping server, with fake activities registered
under the real names: one verify and one confirm per type, the same purge id for both, the fire
time passed on, and a refused type skipped while the others go on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.trackers.purge import (
    ConfirmPurgeInput,
    PurgeCriteria,
    PurgeReport,
    RetentionPurgeInput,
    RetentionRule,
    RetentionVerifyInput,
)
from workflows.trackers.retention import TrackerRetentionWorkflow

pytestmark = [pytest.mark.workflow, pytest.mark.asyncio(loop_scope="session")]


def report(purge_id: str, tracker_type: str, state: str) -> PurgeReport:
    """A made-up purge report: two conversations of ``tracker_type``."""
    return PurgeReport.model_validate(
        {
            "purge_id": purge_id,
            "origin": "retention",
            "state": state,
            "criteria": PurgeCriteria(tracker_types=[tracker_type]),
            "purge_types": [tracker_type],
            "counts": [],
            "conversations": 2,
            "trackers_emptied": 1,
            "kept_open_follow_up": 0,
            "kept_thread_outside": 0,
            "conversations_deleted": 2 if state == "confirmed" else 0,
            "trackers_deleted": 1 if state == "confirmed" else 0,
            "verified_by": "retention-run",
            "verified_at": datetime(2026, 12, 1, 8, tzinfo=UTC),
        }
    )


class Fakes:
    """Same names as ``RetentionActivities``; records what was asked, refuses where told."""

    def __init__(self, rules: list[RetentionRule], refuse: str | None = None) -> None:
        self.rules, self.refuse = rules, refuse
        self.verified: list[RetentionVerifyInput] = []
        self.confirmed: list[ConfirmPurgeInput] = []

    def all(self) -> list[Any]:
        @activity.defn(name="plan_tracker_retention")
        async def plan() -> list[RetentionRule]:
            return self.rules

        @activity.defn(name="verify_retention_purge")
        async def verify(request: RetentionVerifyInput) -> PurgeReport:
            self.verified.append(request)
            return report(request.purge_id, request.rule.tracker_type, "verified")

        @activity.defn(name="confirm_tracker_purge")
        async def confirm(request: ConfirmPurgeInput) -> PurgeReport:
            self.confirmed.append(request)
            (asked,) = [v for v in self.verified if v.purge_id == request.purge_id]
            if asked.rule.tracker_type == self.refuse:
                raise ApplicationError("changed since verify", type="Conflict", non_retryable=True)
            return report(request.purge_id, asked.rule.tracker_type, "confirmed")

        return [plan, verify, confirm]


async def run(env: WorkflowEnvironment, fakes: Fakes) -> Any:
    queue = f"retention-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[TrackerRetentionWorkflow],
        activities=fakes.all(),
    ):
        return await env.client.execute_workflow(
            TrackerRetentionWorkflow.run,
            RetentionPurgeInput(chunk_size=50),
            id=f"tracker-retention-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
        )


RULES = [
    RetentionRule(tracker_type="MS", retention_months=24),
    RetentionRule(tracker_type="ZZ", retention_months=6),
]


async def test_one_verify_and_one_confirm_per_type(time_skipping_env: WorkflowEnvironment) -> None:
    fakes = Fakes(RULES)
    result = await run(time_skipping_env, fakes)
    assert [p.purge_types for p in result.purges] == [["MS"], ["ZZ"]]
    assert all(p.state == "confirmed" for p in result.purges) and result.skipped == []
    assert [v.purge_id for v in fakes.verified] == [c.purge_id for c in fakes.confirmed]
    assert len({v.purge_id for v in fakes.verified}) == 2
    assert {c.chunk_size for c in fakes.confirmed} == {50}
    fired = {v.fired_at for v in fakes.verified}
    assert len(fired) == 1 and next(iter(fired)).tzinfo is not None


async def test_a_refused_type_is_skipped_and_the_others_go_on(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(RULES, refuse="MS")
    result = await run(time_skipping_env, fakes)
    assert result.skipped == ["MS"]
    assert [p.purge_types for p in result.purges] == [["ZZ"]]


async def test_nothing_to_purge(time_skipping_env: WorkflowEnvironment) -> None:
    fakes = Fakes([])
    result = await run(time_skipping_env, fakes)
    assert (result.purges, result.skipped, fakes.verified) == ([], [], [])


async def test_any_other_failure_fails_the_run(time_skipping_env: WorkflowEnvironment) -> None:
    fakes = Fakes(RULES)

    @activity.defn(name="confirm_tracker_purge")
    async def broken(request: ConfirmPurgeInput) -> PurgeReport:
        raise ApplicationError("bad input", type="ValidationError", non_retryable=True)

    plan, verify, _ = fakes.all()
    queue = f"retention-{uuid.uuid4().hex[:8]}"
    env = time_skipping_env
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[TrackerRetentionWorkflow],
        activities=[plan, verify, broken],
    ):
        with pytest.raises(WorkflowFailureError):
            await env.client.execute_workflow(
                TrackerRetentionWorkflow.run,
                RetentionPurgeInput(),
                id=f"tracker-retention-{uuid.uuid4().hex[:8]}",
                task_queue=queue,
            )
