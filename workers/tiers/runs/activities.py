"""Activities of ``TierScoringWorkflow``: prepare, score_shard, publish_changes, finish.

CPU-heavy work (reading, scoring, CSV encoding) runs in a thread so the worker's event loop
keeps heartbeating and serving other workflows; polars releases the GIL while it computes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import asyncpg
import polars as pl
from temporalio import activity

from contracts.tiers.runs import (
    FailureInput,
    FinishInput,
    PrepareInput,
    PrepareResult,
    PublishInput,
    PublishResult,
    RemoveShardsInput,
    ShardInput,
    ShardResult,
    TierRunReport,
    previous_period,
)
from workers.platform.database import Sessions
from workers.platform.kafka_client import EventPublisher
from workers.platform.settings import Settings
from workers.tiers.runs import persist, workspace
from workers.tiers.runs import steps as runs
from workers.tiers.runs.events import event_id_prefix, level_change_values
from workers.tiers.runs.report import build_report
from workers.tiers.scoring.sharding import shard_count_for

T = TypeVar("T")
HEARTBEAT_EVERY = 5.0


class ChunkWriter(Protocol):
    """Stores chunk ``number`` of a shard's results; returns the rows inserted or replaced.

    :func:`write_chunk` is the production writer; tests pass their own to
    ``TierActivities`` (e.g. one that fails on a given chunk, to exercise resuming).
    """

    async def __call__(
        self, conn: asyncpg.Connection, shard: ShardInput, number: int, chunk: pl.DataFrame
    ) -> int: ...


async def write_chunk(
    conn: asyncpg.Connection, shard: ShardInput, number: int, chunk: pl.DataFrame
) -> int:
    """The production :class:`ChunkWriter`: upsert the chunk into ``tier_results``."""
    return await persist.write_results(conn, shard.period, chunk)


async def _with_heartbeats(work: Callable[[], T], *details: Any) -> T:
    """Run blocking ``work`` in a thread, heartbeating ``details`` until it returns."""
    return await _heartbeating(asyncio.to_thread(work), *details)


async def _heartbeating(awaitable: Awaitable[T], *details: Any) -> T:
    """Await ``awaitable``, heartbeating ``details`` while it takes long."""
    task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
    while True:
        done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
        if done:
            return task.result()
        activity.heartbeat(*details)


class TierActivities:
    """Tier scoring activities bound to the store, Kafka and the extract/program paths."""

    def __init__(
        self,
        sessions: Sessions,
        publisher: EventPublisher,
        settings: Settings,
        *,
        chunk_writer: ChunkWriter = write_chunk,
    ) -> None:
        """Bind the activities.

        Args:
            sessions: The store's session factory (its engine's pool is used for COPY).
            publisher: The started Kafka publisher.
            settings: ``tier_extract_root``, ``tier_program``, ``topics.tier_levels`` are used.
            chunk_writer: How ``score_shard`` stores each chunk of results; the default
                :func:`write_chunk` is the only production one (tests inject faults here).
        """
        self._sessions = sessions
        self._publisher = publisher
        self._settings = settings
        self._write_chunk = chunk_writer

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for the worker."""
        return [
            self.prepare,
            self.score_shard,
            self.publish_changes,
            self.finish,
            self.record_failure,
            self.remove_shards,
        ]

    @property
    def _work_root(self) -> Path:
        return workspace.work_root(self._settings.tier_extract_root)

    @activity.defn
    async def prepare(self, start: PrepareInput) -> PrepareResult:
        """Validate program and extract, record the run, write household-aligned shard files.

        Nothing is written (run row or results) unless the program and the whole extract are
        valid; a validation failure is a non-retryable ``ApplicationError`` naming the file,
        column and row (or the item or level). First, the shard files other runs of the period
        left behind (a terminated run) are removed, whether or not this run gets further.
        """
        began = time.perf_counter()
        run_id = activity.info().workflow_run_id or "run"
        await asyncio.to_thread(workspace.remove_other_runs, self._work_root, start.period, run_id)
        program_path = runs.program_path(self._settings)
        folder = self._settings.tier_extract_root / start.period
        validated = await _with_heartbeats(
            lambda: runs.validate(program_path, folder, start.period), "validating"
        )
        before = previous_period(start.period)
        async with persist.raw_connection(self._sessions) as conn:
            previous = await persist.read_levels(conn, before)
            await persist.start_run(conn, start.period, start.workflow_id, start.started_at)
        work = workspace.run_folder(self._work_root, start.period, run_id)
        shard_count = shard_count_for(validated.members, start.shard_count)
        shards = await _with_heartbeats(
            lambda: runs.write_shards(validated.frames, previous, work, shard_count), "sharding"
        )
        return PrepareResult(
            period=start.period,
            program_name=validated.program_name,
            members=validated.members,
            work_folder=str(work),
            shards=shards,
            previous_period=before,
            previous_members=previous.height,
            seconds=round(time.perf_counter() - began, 3),
        )

    @activity.defn
    async def score_shard(self, shard_input: ShardInput) -> ShardResult:
        """Score one shard and upsert its results chunk by chunk (heartbeat = chunk cursor).

        A retry resumes after the last heartbeated chunk; re-writing a chunk is harmless since
        the upsert changes nothing when the row is identical.
        """
        info = activity.info()
        resume_chunk, written_before = 0, 0
        if info.heartbeat_details:
            resume_chunk, written_before = (int(v) for v in info.heartbeat_details[:2])
        program_path = runs.program_path(self._settings)
        scored = await _with_heartbeats(
            lambda: runs.score_shard_folder(
                program_path, Path(shard_input.shard.folder), shard_input.period
            ),
            resume_chunk,
            written_before,
        )
        chunks = runs.chunks(scored.frame, shard_input.chunk_size)
        persist_began = time.perf_counter()
        written = written_before
        async with persist.raw_connection(self._sessions) as conn:
            for number in range(resume_chunk, len(chunks)):
                written += await _heartbeating(
                    self._write_chunk(conn, shard_input, number, chunks[number]),
                    number,
                    written,
                )
                # The cursor: chunks before `number + 1` are stored for good.
                activity.heartbeat(number + 1, written)
        return ShardResult(
            index=shard_input.shard.index,
            members_scored=scored.frame.height,
            members_changed=scored.changed,
            rows_written=written,
            counts_by_level=scored.counts_by_level,
            movement=scored.movement,
            resumed_from_chunk=resume_chunk,
            read_seconds=scored.read_seconds,
            score_seconds=scored.score_seconds,
            persist_seconds=round(time.perf_counter() - persist_began, 3),
        )

    @activity.defn
    async def publish_changes(self, publish: PublishInput) -> PublishResult:
        """Publish ``cu.tier.level-changed.v1`` for the shard's unpublished level changes.

        Batches are sent, acknowledged, then marked ``published_at``; a retry sends only what
        is not marked, and a batch sent but not marked goes again with the same event ids
        (``tier-level-{period}-{member_id}``), which consumers de-duplicate.
        """
        began = time.perf_counter()
        member_ids = await asyncio.to_thread(runs.shard_member_ids, Path(publish.shard.folder))
        topic = self._settings.topics.tier_levels
        published = 0
        async with persist.raw_connection(self._sessions) as conn:
            pending = await persist.pending_changes(conn, publish.period, member_ids)
            for offset in range(0, pending.height, publish.batch_size):
                batch = pending.slice(offset, publish.batch_size)
                values = level_change_values(publish.period, batch, datetime.now(UTC))
                await self._publisher.publish_encoded(
                    topic, values, event_id_prefix(publish.period)
                )
                await persist.mark_published(
                    conn, publish.period, batch["member_id"].to_list(), datetime.now(UTC)
                )
                published += batch.height
                activity.heartbeat(published)
        return PublishResult(
            index=publish.shard.index,
            published=published,
            seconds=round(time.perf_counter() - began, 3),
        )

    @activity.defn
    async def finish(self, finish: FinishInput) -> TierRunReport:
        """Remove the shard files, then write the run report into ``tier_runs``.

        Removal comes first: a run is only recorded ``completed`` once no member data is left
        on disk, and a removal that keeps failing fails the run (with the reason) instead of
        leaving the files behind unnoticed.
        """
        report = build_report(finish)
        await asyncio.to_thread(workspace.remove_run, Path(finish.prepare.work_folder))
        async with persist.raw_connection(self._sessions) as conn:
            await persist.finish_run(
                conn,
                finish.period,
                "completed",
                report.finished_at,
                report.model_dump(mode="json"),
            )
        return report

    @activity.defn
    async def record_failure(self, failure: FailureInput) -> None:
        """Mark the period's run as failed (the run row exists since ``prepare``)."""
        async with persist.raw_connection(self._sessions) as conn:
            await persist.finish_run(conn, failure.period, "failed", datetime.now(UTC), None)

    @activity.defn
    async def remove_shards(self, remove: RemoveShardsInput) -> None:
        """Remove a run's shard files: the workflow calls it when the run stops without
        ``finish`` (failed or cancelled), since the files hold member balances."""
        folder = workspace.run_folder(self._work_root, remove.period, remove.run_id)
        await asyncio.to_thread(workspace.remove_run, folder)
