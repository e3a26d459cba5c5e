"""Activities of ``MassTrackerWorkflow``: write a chunk, start its follow-ups, finish.

Each works from the batch id and a ``seq`` range alone (the members are read from PostgreSQL)
and is idempotent: ``write_chunk`` marks each member's outcome in the transaction that writes
it, ``start_follow_ups`` starts ``FollowUpWorkflow`` with ids derived from the follow-up ids
(REJECT_DUPLICATE + USE_EXISTING, so a second start is a no-op) and marks them started,
``finish_batch`` counts the table. Database errors are re-raised with their SQLSTATE only: the
driver's text may quote member numbers, and it would land in history and logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import asyncpg
from temporalio import activity
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import ApplicationError

from contracts.ids import follow_up_workflow_id
from contracts.platform.operations import OpsConfig
from contracts.trackers.follow_ups import FollowUpInput
from contracts.trackers.mass import (
    MassChunkInput,
    MassChunkResult,
    MassStartResult,
    MassTrackerReport,
)
from contracts.vocabulary import Refusal
from workers.contacts.activities import policy_snapshot
from workers.platform.database import Sessions
from workers.platform.member_search import MemberSearchKey
from workers.platform.memberships import raw_connection
from workers.platform.temporal_retries import start_once
from workers.trackers import mass_writes
from workers.trackers.mass_batches import batch_plan
from workers.trackers.mass_views import batch_counts
from workflows.trackers.follow_up import FollowUpWorkflow

T = TypeVar("T")
START_CONCURRENCY = 16
"""Follow-up workflow starts in flight at once per activity (one RPC each)."""


@contextmanager
def _sqlstate_only() -> Iterator[None]:
    try:
        yield
    except asyncpg.PostgresError as err:
        state = getattr(err, "sqlstate", None) or "?"
        # Class 22 (data) and 23 (integrity) never heal by retrying; anything else may.
        permanent = state[:2] in ("22", "23")
        raise ApplicationError(
            f"the store refused the mass Tracker write (SQLSTATE {state})",
            type=Refusal.VALIDATION.value if permanent else "StoreUnavailable",
            non_retryable=permanent,
        ) from None


async def _heartbeating(work: Awaitable[T]) -> T:
    task: asyncio.Future[T] = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=5.0)
            if done:
                return task.result()
            activity.heartbeat()
    except asyncio.CancelledError:
        # Cancelled (worker shutdown, heartbeat timeout): roll the chunk back rather than let
        # it commit unobserved; the retry writes it.
        task.cancel()
        raise


class MassTrackerActivities:
    """The batch activities, bound to the store, the configuration and the search key."""

    def __init__(self, sessions: Sessions, ops: OpsConfig, search_key: MemberSearchKey) -> None:
        """Bind the activities (the Temporal client is the running activity's own)."""
        self._sessions = sessions
        self._ops = ops
        self._search_key = search_key

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for the worker."""
        return [self.write_chunk, self.start_follow_ups, self.finish_batch, self.fail_batch]

    @activity.defn(name="mass_trackers.write_chunk")
    async def write_chunk(self, chunk: MassChunkInput) -> MassChunkResult:
        """Write the chunk's members that have no outcome yet; return the chunk's outcomes."""
        plan = await batch_plan(self._sessions, self._ops, chunk.batch_id)
        if plan is None:
            raise ApplicationError(
                f"mass Tracker batch {chunk.batch_id} is not stored",
                type=Refusal.NOT_FOUND.value,
                non_retryable=True,
            )
        with _sqlstate_only():
            async with raw_connection(self._sessions) as conn:
                return await _heartbeating(
                    mass_writes.write_chunk(conn, plan, chunk.first_seq, chunk.last_seq)
                )

    @activity.defn(name="mass_trackers.start_follow_ups")
    async def start_follow_ups(self, chunk: MassChunkInput) -> MassStartResult:
        """Start ``FollowUpWorkflow`` for the chunk's follow-ups not yet marked started."""
        with _sqlstate_only():
            async with raw_connection(self._sessions) as conn:
                rows = await conn.fetch(
                    """
                    SELECT m.member_id, m.tracker_id, m.conversation_id, m.follow_up_id,
                           b.follow_up_employee_id, b.follow_up_due_on, b.requested_by,
                           b.tracker_type, b.memo_type
                      FROM mass_tracker_members m
                      JOIN mass_tracker_batches b ON b.batch_id = m.batch_id
                     WHERE m.batch_id = $1 AND m.seq BETWEEN $2 AND $3
                       AND m.follow_up_id IS NOT NULL AND NOT m.follow_up_started
                    """,
                    chunk.batch_id,
                    chunk.first_seq,
                    chunk.last_seq,
                )
        client, queue = activity.client(), activity.info().task_queue
        gate = asyncio.Semaphore(START_CONCURRENCY)
        policy = policy_snapshot(self._ops)

        async def start(row: Any) -> None:
            start_input = FollowUpInput(
                follow_up_id=row["follow_up_id"],
                member_id=row["member_id"],
                member_key=self._search_key.of(row["member_id"]),
                tracker_id=row["tracker_id"],
                conversation_id=row["conversation_id"],
                assignee_employee_id=row["follow_up_employee_id"],
                assigned_by=row["requested_by"],
                due_on=row["follow_up_due_on"],
                # Codes only, never the note: notifications travel to other systems.
                summary=f"{row['tracker_type']}/{row['memo_type']} mass Tracker follow-up",
                policy=policy,
                memo_type=row["memo_type"],
            )
            async with gate:
                await start_once(
                    client,
                    FollowUpWorkflow.run,
                    start_input,
                    workflow_id=follow_up_workflow_id(row["follow_up_id"]),
                    task_queue=queue,
                    search_attributes=TypedSearchAttributes.empty,
                )

        await _heartbeating(asyncio.gather(*(start(r) for r in rows)))
        if rows:
            with _sqlstate_only():
                async with raw_connection(self._sessions) as conn:
                    await conn.execute(
                        "UPDATE mass_tracker_members SET follow_up_started = true "
                        "WHERE batch_id = $1 AND follow_up_id = ANY($2::text[])",
                        chunk.batch_id,
                        [r["follow_up_id"] for r in rows],
                    )
        return MassStartResult(started=len(rows))

    @activity.defn(name="mass_trackers.finish_batch")
    async def finish_batch(self, batch_id: str) -> MassTrackerReport:
        """Count the batch's outcomes, store the report and mark the batch completed."""
        with _sqlstate_only():
            counts = await batch_counts(self._sessions, batch_id)
            async with raw_connection(self._sessions) as conn:
                batch = await conn.fetchrow(
                    "SELECT mode, tracker_type, members_total, duplicates "
                    "FROM mass_tracker_batches WHERE batch_id = $1",
                    batch_id,
                )
                reasons = await conn.fetch(
                    "SELECT reason, count(*) AS n FROM mass_tracker_members "
                    "WHERE batch_id = $1 AND outcome = 'skipped' GROUP BY reason",
                    batch_id,
                )
                finished_at = await conn.fetchval("SELECT now()")
                assert batch is not None
                report = MassTrackerReport(
                    batch_id=batch_id,
                    mode=batch["mode"],
                    tracker_type=batch["tracker_type"],
                    members_total=batch["members_total"],
                    duplicates=batch["duplicates"],
                    created=counts.created,
                    appended=counts.appended,
                    skipped=counts.skipped,
                    skipped_by_reason={r["reason"]: r["n"] for r in reasons},
                    follow_ups_opened=counts.follow_ups_opened,
                    follow_ups_started=counts.follow_ups_started,
                    finished_at=finished_at,
                )
                await conn.execute(
                    "UPDATE mass_tracker_batches SET state = 'completed', report = $2::jsonb, "
                    "finished_at = COALESCE(finished_at, $3) WHERE batch_id = $1",
                    batch_id,
                    report.model_dump_json(),
                    finished_at,
                )
        return report

    @activity.defn(name="mass_trackers.fail_batch")
    async def fail_batch(self, batch_id: str) -> None:
        """Mark the batch failed (what was written stays written; a re-run finishes it)."""
        with _sqlstate_only():
            async with raw_connection(self._sessions) as conn:
                await conn.execute(
                    "UPDATE mass_tracker_batches SET state = 'failed', finished_at = now() "
                    "WHERE batch_id = $1 AND state = 'running'",
                    batch_id,
                )
