"""``ConsolidateTrackersWorkflow`` and ``CopyTrackerWorkflow``: moving and copying Tracker notes.

Workflow ids ``tracker-consolidation-{id}`` and ``tracker-copy-{id}``, the id derived from the
desk caller's ``Idempotency-Key`` (never a member number): a re-submitted key finds the run it
started and its result, so the work is done once.

Each is short: the activities (``workers/trackers/relocation_activities.py``) check and write in
one transaction each, idempotent by the consolidation's or copy's id. What Temporal adds is the
retrying of a write through a database outage, and one durable answer per key. A refusal
(``contracts.vocabulary.Refusal``) ends the run failed with it, never retried, and the desk
answers it with its status.
"""

from __future__ import annotations

from temporalio import workflow

from contracts.trackers.relocations import (
    ConsolidationInput,
    ConsolidationResult,
    CopyInput,
    CopyPlan,
    CopyResult,
    CopyStep,
)
from workflows.policies import LOOKUP_TIMEOUT, WRITE_RETRY, WRITE_TIMEOUT, refusals_re_raised

with workflow.unsafe.imports_passed_through():
    from workers.trackers.relocation_activities import RelocationActivities


@workflow.defn
class ConsolidateTrackersWorkflow:
    """Move every conversation of one Tracker into another of the same member and type."""

    @workflow.run
    async def run(self, request: ConsolidationInput) -> ConsolidationResult:
        """Consolidate (one idempotent activity: check, move, record, remove the emptied)."""
        # Re-raised as the run's own error: the desk reads the refusal type off the failure.
        with refusals_re_raised():
            result: ConsolidationResult = await workflow.execute_activity_method(
                RelocationActivities.consolidate_trackers,
                request,
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
        return result


@workflow.defn
class CopyTrackerWorkflow:
    """Copy a Tracker's conversations (all, or chosen ones) to another membership."""

    @workflow.run
    async def run(self, request: CopyInput) -> CopyResult:
        """Plan (check; fix which conversations), then write the copies."""
        with refusals_re_raised():
            # The plan is kept in history: a retried write copies the very conversations
            # planned, even if the source Tracker got a new note meanwhile.
            plan: CopyPlan = await workflow.execute_activity_method(
                RelocationActivities.plan_copy,
                request,
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
            result: CopyResult = await workflow.execute_activity_method(
                RelocationActivities.copy_conversations,
                # The ids, not the plan model: the activity's result is of the module outside
                # the sandbox, which a model built in here would not accept as its own.
                CopyStep(request=request, source_conversation_ids=plan.source_conversation_ids),
                start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
        return result
