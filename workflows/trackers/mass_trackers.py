"""``MassTrackerWorkflow``: one mass Tracker batch, walked in chunks of its stored member list.

The history holds the batch id and ``seq`` ranges only, never member numbers: the members are
in ``mass_tracker_members``. One activity per chunk (1,000 members by default) keeps the history
small - about three events per chunk, ~700 for 100,000 members with follow-ups - well under
Temporal's limits, so no continue-as-new. Activities are referred to by name: this module
imports nothing that does I/O.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.policies import WRITE_RETRY

with workflow.unsafe.imports_passed_through():
    from contracts.trackers.mass import (
        MassChunkInput,
        MassChunkResult,
        MassStartResult,
        MassTrackerInput,
        MassTrackerProgress,
        MassTrackerReport,
    )

# A chunk is one transaction of a few set-based statements; the heartbeat timeout (not the
# start-to-close) is what notices a dead worker, and the retry finds done members marked.
CHUNK_TIMEOUT = timedelta(minutes=10)
HEARTBEAT_TIMEOUT = timedelta(seconds=30)
FINISH_TIMEOUT = timedelta(minutes=1)


@workflow.defn
class MassTrackerWorkflow:
    """Write every chunk, then start the follow-ups' workflows, then store the report."""

    @workflow.init
    def __init__(self, start: MassTrackerInput) -> None:
        self._progress = MassTrackerProgress(
            batch_id=start.batch_id, members_total=start.members_total
        )

    @workflow.query
    def progress(self) -> MassTrackerProgress:
        """Phase and counts so far (the CLI's progress bar)."""
        return self._progress

    def _chunks(self, start: MassTrackerInput) -> list[MassChunkInput]:
        size, total = start.chunk_size, start.members_total
        return [
            MassChunkInput(
                batch_id=start.batch_id, first_seq=first, last_seq=min(first + size - 1, total)
            )
            for first in range(1, total + 1, size)
        ]

    @workflow.run
    async def run(self, start: MassTrackerInput) -> MassTrackerReport:
        """Run the batch and return its report (counts only)."""
        try:
            return await self._run(start)
        except ActivityError as err:
            await workflow.execute_activity(
                "mass_trackers.fail_batch",
                start.batch_id,
                start_to_close_timeout=FINISH_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
            message = str(err.cause) if err.cause is not None else str(err)
            raise ApplicationError(
                f"mass Tracker batch {start.batch_id} failed: {message}", type="MassBatchFailed"
            ) from err

    async def _run(self, start: MassTrackerInput) -> MassTrackerReport:
        chunks = self._chunks(start)
        # A few chunks at once: each is one transaction on distinct members, so they never
        # wait on each other; the bound keeps the database's write load (and locks) modest.
        gate = asyncio.Semaphore(start.max_concurrent_chunks)

        async def write(chunk: MassChunkInput) -> None:
            async with gate:
                result: MassChunkResult = await workflow.execute_activity(
                    "mass_trackers.write_chunk",
                    chunk,
                    result_type=MassChunkResult,
                    start_to_close_timeout=CHUNK_TIMEOUT,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                )
            p = self._progress
            p.members_done += chunk.last_seq - chunk.first_seq + 1
            p.created += result.created
            p.appended += result.appended
            p.skipped += result.skipped
            p.follow_ups_opened += result.follow_ups_opened

        await asyncio.gather(*(write(c) for c in chunks))
        if start.follow_ups:
            # Its own activities after every chunk is written: a Temporal outage delays the
            # notifications, never the notes, and a retried start finds the workflow existing.
            self._progress.phase = "starting follow-ups"

            async def start_chunk(chunk: MassChunkInput) -> None:
                async with gate:
                    started: MassStartResult = await workflow.execute_activity(
                        "mass_trackers.start_follow_ups",
                        chunk,
                        result_type=MassStartResult,
                        start_to_close_timeout=CHUNK_TIMEOUT,
                        heartbeat_timeout=HEARTBEAT_TIMEOUT,
                        retry_policy=WRITE_RETRY,
                    )
                self._progress.follow_ups_started += started.started

            await asyncio.gather(*(start_chunk(c) for c in chunks))
        self._progress.phase = "finishing"
        report: MassTrackerReport = await workflow.execute_activity(
            "mass_trackers.finish_batch",
            start.batch_id,
            result_type=MassTrackerReport,
            start_to_close_timeout=FINISH_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        self._progress.phase = "done"
        return report
