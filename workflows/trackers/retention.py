"""``TrackerRetentionWorkflow``: the monthly Schedule's purge of conversations past retention.

For every Tracker type that allows purging and keeps its notes for a limited time, one purge:
verify (the type's conversations written before today minus its retention), then confirm.
Deterministic: the day comes from ``workflow.now()`` (the fire time), each purge id from
``workflow.uuid4()``; the activities do every read and delete.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from contracts.vocabulary import Refusal
from workflows.policies import LOOKUP_TIMEOUT, WRITE_RETRY

# The models are passed through: activity results are decoded into the same classes.
with workflow.unsafe.imports_passed_through():
    from contracts.trackers.purge import (
        ConfirmPurgeInput,
        RetentionPurgeInput,
        RetentionPurgeResult,
        RetentionVerifyInput,
    )
    from workers.trackers.retention_activities import RetentionActivities

VERIFY_TIMEOUT = timedelta(minutes=15)
"""Listing one type's conversations past retention (one statement over the type's notes)."""
CONFIRM_TIMEOUT = timedelta(hours=6)
"""Deleting them, chunk by chunk; liveness is the heartbeat, not this bound."""
CONFIRM_HEARTBEAT = timedelta(minutes=2)


@workflow.defn(name="TrackerRetentionWorkflow")
class TrackerRetentionWorkflow:
    """Started by the ``tracker-retention-monthly`` Schedule (or by hand, or a test)."""

    @workflow.run
    async def run(self, start: RetentionPurgeInput) -> RetentionPurgeResult:
        """Purge, type by type, the conversations older than the type's retention."""
        # The fire time, replay-safe: a Schedule's arguments are fixed when it is created.
        fired_at = workflow.now()
        rules = await workflow.execute_activity_method(
            RetentionActivities.plan_tracker_retention,
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        result = RetentionPurgeResult()
        for rule in rules:
            # Chosen here, so a retried verify finds its own purge instead of making another.
            purge_id = str(workflow.uuid4())
            try:
                await workflow.execute_activity_method(
                    RetentionActivities.verify_retention_purge,
                    RetentionVerifyInput(purge_id=purge_id, rule=rule, fired_at=fired_at),
                    start_to_close_timeout=VERIFY_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                )
                report = await workflow.execute_activity_method(
                    RetentionActivities.confirm_purge,
                    ConfirmPurgeInput(purge_id=purge_id, chunk_size=start.chunk_size),
                    start_to_close_timeout=CONFIRM_TIMEOUT,
                    heartbeat_timeout=CONFIRM_HEARTBEAT,
                    retry_policy=WRITE_RETRY,
                )
            except ActivityError as err:
                # A refusal (the type stopped allowing purges, a follow-up opened in between)
                # skips this type until next month; any other failure fails the run.
                cause = err.cause
                if not (isinstance(cause, ApplicationError) and cause.type == Refusal.CONFLICT):
                    raise
                workflow.logger.warning(
                    "retention purge of %s skipped: %s", rule.tracker_type, cause
                )
                result.skipped.append(rule.tracker_type)
                continue
            result.purges.append(report)
        return result
