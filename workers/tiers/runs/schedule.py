"""The monthly Temporal Schedule of tier scoring, and starting a period's run by hand."""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.ids import MONTHLY_TIER_WORKFLOW_ID, TIER_SCHEDULE_ID, tier_scoring_workflow_id
from contracts.tiers.runs import (
    MonthlyTierScoringInput,
    TierRunReport,
    TierScoringInput,
)
from workers.platform.monthly_schedules import create_or_update, first_of_month_schedule
from workflows.tiers.tier_scoring import MonthlyTierScoringWorkflow, TierScoringWorkflow


def monthly_schedule(
    task_queue: str, time_zone: str, *, shard_count: int = 4, max_concurrent_shards: int = 2
) -> Schedule:
    """The Schedule: 02:00 on the 1st of each month in ``time_zone``.

    Args:
        task_queue: Where the worker with the tier workflows polls.
        time_zone: The program's IANA time zone (the month starts there).
        shard_count: Shards of each run.
        max_concurrent_shards: Shards scored at once.

    Returns:
        The schedule definition.
    """
    return first_of_month_schedule(
        ScheduleActionStartWorkflow(
            MonthlyTierScoringWorkflow.run,
            MonthlyTierScoringInput(
                time_zone=time_zone,
                shard_count=shard_count,
                max_concurrent_shards=max_concurrent_shards,
            ),
            id=MONTHLY_TIER_WORKFLOW_ID,
            task_queue=task_queue,
        ),
        hour=2,
        time_zone=time_zone,
        note="monthly Tiered Service scoring of the previous month",
    )


async def ensure_schedule(
    client: Client,
    task_queue: str,
    time_zone: str,
    *,
    shard_count: int = 4,
    max_concurrent_shards: int = 2,
    schedule_id: str = TIER_SCHEDULE_ID,
) -> str:
    """Create the monthly Schedule, or bring an existing one up to date (idempotent).

    Args:
        client: A Temporal client (pydantic data converter).
        task_queue: The worker's task queue.
        time_zone: The program's IANA time zone.
        shard_count: Shards of each run.
        max_concurrent_shards: Shards scored at once.
        schedule_id: The Schedule's id (tests use their own).

    Returns:
        The schedule id.
    """
    schedule = monthly_schedule(
        task_queue,
        time_zone,
        shard_count=shard_count,
        max_concurrent_shards=max_concurrent_shards,
    )
    await create_or_update(client, schedule_id, schedule)
    return schedule_id


async def start_or_get_run(
    client: Client,
    task_queue: str,
    period: str,
    rerun: bool = False,
    *,
    shard_count: int = 4,
    max_concurrent_shards: int = 2,
) -> tuple[WorkflowHandle[TierScoringWorkflow, TierRunReport], bool]:
    """The period's run: the running or completed one, else a new one.

    Without ``rerun`` a completed run is returned as it is (its id is not reused) and only a
    failed, cancelled or terminated run is started again; with ``rerun`` a closed run is started
    again (the results are identical and no event is published twice). A running run is always
    returned, never duplicated.

    Args:
        client: A Temporal client.
        task_queue: The worker's task queue.
        period: ``YYYY-MM``.
        rerun: Start again even when the period completed.
        shard_count: Shards of a new run.
        max_concurrent_shards: Shards scored at once.

    Returns:
        The workflow handle and whether this call started it.
    """
    workflow_id = tier_scoring_workflow_id(period)
    existing = client.get_workflow_handle_for(TierScoringWorkflow.run, workflow_id)
    try:
        status = (await existing.describe()).status
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        status = None
    if status == WorkflowExecutionStatus.RUNNING or (
        status == WorkflowExecutionStatus.COMPLETED and not rerun
    ):
        return existing, False
    try:
        handle = await client.start_workflow(
            TierScoringWorkflow.run,
            TierScoringInput(
                period=period,
                shard_count=shard_count,
                max_concurrent_shards=max_concurrent_shards,
            ),
            id=workflow_id,
            task_queue=task_queue,
            # A period is a business key: never two runs of it at once (USE_EXISTING joins a
            # running one); a completed run is reused unless a re-run is asked for.
            id_reuse_policy=(
                WorkflowIDReusePolicy.ALLOW_DUPLICATE
                if rerun
                else WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
            ),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TierScoringWorkflow.search_attributes(period),
        )
    except WorkflowAlreadyStartedError:  # completed meanwhile by another caller
        return existing, False
    return handle, True
