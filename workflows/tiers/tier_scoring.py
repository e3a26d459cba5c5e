"""``TierScoringWorkflow`` (one period, in shards) and ``MonthlyTierScoringWorkflow`` (the
Schedule's action: work out last month, run it as a child).

The workflow only orchestrates: every byte of member data stays in activities and files, the
history holds a handful of small results (a few activities per shard, never one per member).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from contracts.ids import tier_scoring_workflow_id
from workflows.policies import TIER_STEP_RETRY
from workflows.search_attributes import SCORING_PERIOD

# The models are passed through (not re-imported in the sandbox): activity results decoded
# against the activity's type hints must be the same classes the workflow builds inputs from.
with workflow.unsafe.imports_passed_through():
    from contracts.tiers.runs import (
        FailureInput,
        FinishInput,
        MonthlyTierScoringInput,
        PrepareInput,
        PrepareResult,
        PublishInput,
        PublishResult,
        RemoveShardsInput,
        ShardInput,
        ShardResult,
        TierRunProgress,
        TierRunReport,
        TierScoringInput,
        previous_period,
    )
    from workers.tiers.runs.activities import TierActivities

# prepare reads and re-writes the whole extract once: minutes at millions of members.
PREPARE_TIMEOUT = timedelta(minutes=30)
# A shard scores and writes up to a few hundred thousand members; the heartbeat timeout (not
# the long start-to-close) is what detects a dead worker quickly, and the retry resumes from the
# last heartbeated chunk.
SHARD_TIMEOUT = timedelta(hours=1)
HEARTBEAT_TIMEOUT = timedelta(seconds=60)
FINISH_TIMEOUT = timedelta(minutes=2)
SHARD_CLEANUP_PATCH = "tier-shard-cleanup"
"""Runs that stop without ``finish`` remove their shard files (``remove_shards``); histories
recorded before it replay without that activity."""


@workflow.defn
class TierScoringWorkflow:
    """Score one period: prepare → (score_shard → publish_changes) per shard → finish.

    A run that stops short of finish (failed, cancelled) ends with remove_shards.
    """

    @workflow.init
    def __init__(self, start: TierScoringInput) -> None:
        self._progress = TierRunProgress(period=start.period, phase="preparing")

    @staticmethod
    def search_attributes(period: str) -> TypedSearchAttributes:
        """The period as a search attribute (a business key, no member data)."""
        return TypedSearchAttributes([SearchAttributePair(SCORING_PERIOD, period)])

    @workflow.query
    def progress(self) -> TierRunProgress:
        """Phase and counts so far (for the CLI's progress bar and the API)."""
        return self._progress

    @workflow.run
    async def run(self, start: TierScoringInput) -> TierRunReport:
        """Run the period and return its report.

        However the run stops short of ``finish`` (which removes the shard files itself) -
        failed in any step or cancelled - its shard files are removed: they hold member
        balances. A terminated run runs no code; the next run of the period removes them.
        """
        # Asked once, first thing (docs/workflow-versioning.md): runs started before the
        # change keep the old path to the end, and replay their histories without the activity.
        removes_shards = workflow.patched(SHARD_CLEANUP_PATCH)
        finished = False
        try:
            report = await self._run(start)
            finished = True
            return report
        finally:
            if removes_shards and not finished:
                await self._remove_shards(start.period)

    async def _remove_shards(self, period: str) -> None:
        try:
            await workflow.execute_activity_method(
                TierActivities.remove_shards,
                RemoveShardsInput(period=period, run_id=workflow.info().run_id),
                start_to_close_timeout=FINISH_TIMEOUT,
                retry_policy=TIER_STEP_RETRY,
            )
        except ActivityError as err:
            # The run's own failure (or cancellation) is what the caller must see; files left
            # are removed by the period's next run or a worker's start-up.
            workflow.logger.warning("shard files of %s not removed: %s", period, err.cause)

    async def _run(self, start: TierScoringInput) -> TierRunReport:
        info = workflow.info()
        started_at = workflow.now()
        phase_seconds: dict[str, float] = {}
        prepared = await workflow.execute_activity_method(
            TierActivities.prepare,
            PrepareInput(
                period=start.period,
                workflow_id=info.workflow_id,
                shard_count=start.shard_count,
                started_at=started_at,
            ),
            start_to_close_timeout=PREPARE_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=TIER_STEP_RETRY,
        )
        phase_seconds["prepare"] = _seconds(started_at, workflow.now())
        self._progress = TierRunProgress(
            period=start.period,
            phase="scoring",
            shards_total=len(prepared.shards),
            members_total=prepared.members,
        )
        try:
            report = await self._shards_and_finish(start, prepared, started_at, phase_seconds)
        except ActivityError as err:
            # The run row says 'running' since prepare: leave it saying why it stopped.
            message = str(err.cause) if err.cause is not None else str(err)
            await workflow.execute_activity_method(
                TierActivities.record_failure,
                FailureInput(period=start.period, workflow_id=info.workflow_id, message=message),
                start_to_close_timeout=FINISH_TIMEOUT,
                retry_policy=TIER_STEP_RETRY,
            )
            raise ApplicationError(
                f"tier scoring {start.period} failed: {message}", type="TierRunFailed"
            ) from err
        return report

    async def _shards_and_finish(
        self,
        start: TierScoringInput,
        prepared: PrepareResult,
        started_at: datetime,
        phase_seconds: dict[str, float],
    ) -> TierRunReport:
        # At most N shards at once: each holds its part of the extract in memory, so this
        # bounds the worker's memory and the database's write load, whatever the shard count.
        gate = asyncio.Semaphore(start.max_concurrent_shards)
        scored_at: list[datetime] = []

        async def one_shard(index: int) -> tuple[ShardResult, PublishResult]:
            shard = prepared.shards[index]
            async with gate:
                # Completed shard activities are in the history: after a worker crash the
                # replay returns their results instead of running them again.
                scored = await workflow.execute_activity_method(
                    TierActivities.score_shard,
                    ShardInput(period=start.period, shard=shard, chunk_size=start.chunk_size),
                    start_to_close_timeout=SHARD_TIMEOUT,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    retry_policy=TIER_STEP_RETRY,
                )
                self._progress.shards_scored += 1
                self._progress.members_scored += scored.members_scored
                scored_at.append(workflow.now())
                # Publish right after the shard is stored, so events flow while other shards
                # score; publishing is its own activity so a broker outage never re-scores.
                published = await workflow.execute_activity_method(
                    TierActivities.publish_changes,
                    PublishInput(
                        period=start.period, shard=shard, batch_size=start.publish_batch_size
                    ),
                    start_to_close_timeout=SHARD_TIMEOUT,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    retry_policy=TIER_STEP_RETRY,
                )
                self._progress.shards_published += 1
                self._progress.members_published += published.published
                return scored, published

        shards_started = workflow.now()
        results = await asyncio.gather(*(one_shard(i) for i in range(len(prepared.shards))))
        shards_done = workflow.now()
        phase_seconds["score_persist_publish"] = _seconds(shards_started, shards_done)
        if scored_at:
            phase_seconds["score_persist"] = _seconds(shards_started, max(scored_at))
        self._progress.phase = "finishing"
        report = await workflow.execute_activity_method(
            TierActivities.finish,
            FinishInput(
                period=start.period,
                workflow_id=workflow.info().workflow_id,
                started_at=started_at,
                finished_at=shards_done,
                prepare=prepared,
                shards=[scored for scored, _ in results],
                publishes=[published for _, published in results],
                phase_seconds=phase_seconds,
            ),
            start_to_close_timeout=FINISH_TIMEOUT,
            retry_policy=TIER_STEP_RETRY,
        )
        self._progress.phase = "done"
        return report


def _seconds(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 3)


def period_before(moment: datetime, time_zone: str) -> str:
    """The month before the local month of ``moment`` in ``time_zone`` (``YYYY-MM``).

    Args:
        moment: An aware instant, e.g. ``workflow.now()``.
        time_zone: IANA name, e.g. ``America/Detroit``.

    Returns:
        The period to score.
    """
    from zoneinfo import ZoneInfo

    # Inside the sandbox a ZoneInfo is a restriction proxy that datetime refuses as a tzinfo;
    # its utcoffset() works, so convert by offset (evaluated again at the local time).
    zone = ZoneInfo(time_zone)
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    local = utc + (zone.utcoffset(utc) or timedelta(0))
    local = utc + (zone.utcoffset(local) or timedelta(0))
    return previous_period(f"{local.year:04d}-{local.month:02d}")


@workflow.defn
class MonthlyTierScoringWorkflow:
    """Started by the monthly Schedule: runs last month's ``TierScoringWorkflow`` as a child."""

    @workflow.run
    async def run(self, start: MonthlyTierScoringInput) -> TierRunReport | None:
        """Score the month before the one this run fires in (in the program's time zone)."""
        # workflow.now() is the replay-safe fire time; the period is derived, never passed,
        # because a Schedule's action arguments are fixed when the Schedule is created.
        period = period_before(workflow.now(), start.time_zone)
        try:
            # The child id is the period's business key: a hand-started run of the same period
            # is not duplicated; a failed one may be retried by the next firing.
            return await workflow.execute_child_workflow(
                TierScoringWorkflow.run,
                TierScoringInput(
                    period=period,
                    shard_count=start.shard_count,
                    max_concurrent_shards=start.max_concurrent_shards,
                ),
                id=tier_scoring_workflow_id(period),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                # Terminating the monthly trigger must not kill a half-done scoring run.
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=TierScoringWorkflow.search_attributes(period),
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("tier scoring %s already ran or is running", period)
            return None
