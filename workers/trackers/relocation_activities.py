"""Activities of ``ConsolidateTrackersWorkflow`` and ``CopyTrackerWorkflow``.

Each is idempotent by the consolidation's or copy's id, which the API derives from the caller's
``Idempotency-Key``: a retried activity finds what its first attempt wrote. A refusal (the type
does not allow it, a Tracker of another member, ...) is raised non-retryable with its refusal
type (``store_refusals``); an unreachable database is retried until it is back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from contracts.platform.operations import OpsConfig
from contracts.trackers.relocations import (
    ConsolidationInput,
    ConsolidationResult,
    CopyInput,
    CopyPlan,
    CopyResult,
    CopyStep,
)
from workers.platform.database import Sessions
from workers.platform.errors import store_refusals
from workers.trackers import consolidation_store, copy_store


class RelocationActivities:
    """Consolidate and copy activities bound to the store and the Tracker type rules."""

    def __init__(self, session_factory: Sessions, ops_config: OpsConfig) -> None:
        """Bind the activities to the store and the operations configuration."""
        self._sessions = session_factory
        self._ops = ops_config

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the worker."""
        return [self.consolidate_trackers, self.plan_copy, self.copy_conversations]

    @activity.defn(name="relocations.consolidate_trackers")
    async def consolidate_trackers(self, request: ConsolidationInput) -> ConsolidationResult:
        """Move the newer Tracker's conversations into the older one and remove the newer.

        Args:
            request: The member, the two Trackers, who asked, the consolidation's id.

        Returns:
            The survivor, the removed Tracker and how many conversations moved.
        """
        with store_refusals():
            return await consolidation_store.consolidate(self._sessions, self._ops, request)

    @activity.defn(name="relocations.plan_copy")
    async def plan_copy(self, request: CopyInput) -> CopyPlan:
        """Check a copy and fix the conversations it writes (read only).

        Args:
            request: The source Tracker, the chosen conversations, the target membership.

        Returns:
            The source conversations, oldest first.
        """
        with store_refusals():
            return await copy_store.plan_copy(self._sessions, self._ops, request)

    @activity.defn(name="relocations.copy_conversations")
    async def copy_conversations(self, step: CopyStep) -> CopyResult:
        """Write the planned copies on the target membership (once).

        Args:
            step: The copy and its plan.

        Returns:
            The target Tracker and each copy with its source.
        """
        with store_refusals():
            plan = CopyPlan(source_conversation_ids=step.source_conversation_ids)
            return await copy_store.copy_conversations(
                self._sessions, self._ops, step.request, plan
            )
