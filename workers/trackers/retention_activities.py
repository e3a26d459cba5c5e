"""Activities of ``TrackerRetentionWorkflow``: which types to purge, verify, confirm.

Each purges through the same store functions as ``memberflow trackers purge`` (and so through
the one database delete path), recorded as ``RETENTION_ACTOR`` with an access-trail row per
stage. Idempotent: verify reuses the purge id the workflow chose, confirm skips what is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from temporalio import activity

from contracts.platform.operations import OpsConfig
from contracts.trackers.purge import (
    RETENTION_ACTOR,
    ConfirmPurgeInput,
    PurgeCriteria,
    PurgeReport,
    RetentionRule,
    RetentionVerifyInput,
    retention_last_day,
)
from workers.platform.database import Sessions
from workers.platform.errors import store_refusals
from workers.trackers.purge_store import confirm_purge, verify_purge


def retention_rules(ops: OpsConfig) -> list[RetentionRule]:
    """The types a retention run purges: they allow purging and keep notes for a time."""
    return [
        RetentionRule(tracker_type=t.code, retention_months=t.retention_months)
        for t in ops.tracker_types
        if t.allow_purge and t.retention_months is not None
    ]


def retention_criteria(ops: OpsConfig, rule: RetentionRule, fired_at: datetime) -> PurgeCriteria:
    """The type's conversations written before its retention, as of the run's local day."""
    today = fired_at.astimezone(ZoneInfo(ops.time_zone)).date()
    return PurgeCriteria(
        tracker_types=[rule.tracker_type],
        created_to=retention_last_day(today, rule.retention_months),
    )


class RetentionActivities:
    """Retention purges bound to the store and the operations configuration."""

    def __init__(self, sessions: Sessions, ops: OpsConfig) -> None:
        """Bind the activities to the store and the configuration."""
        self._sessions = sessions
        self._ops = ops

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for the worker."""
        return [self.plan_tracker_retention, self.verify_retention_purge, self.confirm_purge]

    @activity.defn(name="plan_tracker_retention")
    async def plan_tracker_retention(self) -> list[RetentionRule]:
        """The types this run purges, from the worker's operations file."""
        return retention_rules(self._ops)

    @activity.defn(name="verify_retention_purge")
    async def verify_retention_purge(self, request: RetentionVerifyInput) -> PurgeReport:
        """Verify one type's purge under the workflow's purge id (a retry finds it again)."""
        with store_refusals():
            return await verify_purge(
                self._sessions,
                self._ops,
                retention_criteria(self._ops, request.rule, request.fired_at),
                by=RETENTION_ACTOR,
                origin="retention",
                purge_id=request.purge_id,
                audit=True,
            )

    @activity.defn(name="confirm_tracker_purge")
    async def confirm_purge(self, request: ConfirmPurgeInput) -> PurgeReport:
        """Delete what the purge verified, heartbeating after each chunk."""
        with store_refusals():
            return await confirm_purge(
                self._sessions,
                self._ops,
                request.purge_id,
                by=RETENTION_ACTOR,
                chunk_size=request.chunk_size,
                audit=True,
                progress=activity.heartbeat,
            )
