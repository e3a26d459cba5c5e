"""The tier run harness of the integration tests: an in-process worker on real servers.

``harness`` binds ``TierActivities`` (with a chunk writer of the test's choosing) to a worker on
a task queue of its own, fresh topics and an extract root under the test's ``tmp_path``; the
chunk writers here watch, hold or break a run from inside ``score_shard`` without patching
anything; the readers give back what a run left: stored rows, events, history, files.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import polars as pl
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from contracts.tiers.runs import ShardInput, TierRunReport
from tests.conftest import unique_topics
from workers.platform.database import Sessions, create_engine, session_factory
from workers.platform.kafka_client import EventPublisher, connection_options, ensure_topics
from workers.platform.kafka_reader import read_topic
from workers.platform.migrate import upgrade
from workers.platform.settings import Settings
from workers.tiers.runs import persist, workspace
from workers.tiers.runs import steps as runs
from workers.tiers.runs.activities import ChunkWriter, TierActivities, write_chunk
from workers.tiers.runs.schedule import start_or_get_run
from workflows.tiers.tier_scoring import MonthlyTierScoringWorkflow, TierScoringWorkflow

MEMBERS = 2_000
COMPARED = list(persist.RESULT_COLUMNS)


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """JSON columns re-encoded with sorted keys (PostgreSQL's jsonb text differs in spacing)."""
    return frame.with_columns(
        pl.col(c).map_elements(
            lambda text: json.dumps(json.loads(text), sort_keys=True), return_dtype=pl.String
        )
        for c in persist.JSON_COLUMNS
    )


@dataclass
class Harness:
    """An in-process worker with the tier workflows, and what the tests read back."""

    settings: Settings
    sessions: Sessions
    client: Client
    task_queue: str
    activities: TierActivities

    @property
    def topic(self) -> str:
        return self.settings.topics.tier_levels

    async def run(self, period: str, *, rerun: bool = False) -> TierRunReport:
        handle, _ = await start_or_get_run(
            self.client, self.task_queue, period, rerun=rerun, shard_count=3
        )
        return await handle.result()

    async def rows(self, period: str) -> pl.DataFrame:
        async with persist.raw_connection(self.sessions) as conn:
            records = await conn.fetch(
                "SELECT member_id, total, household_total, level_code, level_name, "
                "previous_level_code, atm_service_charge_code, points_by_goal::text, "
                "points_by_item::text, possible_by_goal::text, published_at "
                "FROM tier_results WHERE period = $1 ORDER BY member_id",
                period,
            )
        return canonical(
            pl.DataFrame(
                [dict(r) for r in records],
                schema={
                    "member_id": pl.String,
                    "total": pl.Int64,
                    "household_total": pl.Int64,
                    "level_code": pl.String,
                    "level_name": pl.String,
                    "previous_level_code": pl.String,
                    "atm_service_charge_code": pl.Int64,
                    "points_by_goal": pl.String,
                    "points_by_item": pl.String,
                    "possible_by_goal": pl.String,
                    "published_at": pl.Datetime("us", "UTC"),
                },
            )
        )

    async def run_row(self, period: str) -> dict[str, Any] | None:
        async with persist.raw_connection(self.sessions) as conn:
            return await persist.get_run(conn, period)

    async def events(self, count: int) -> list[dict[str, Any]]:
        records = await read_topic(self.settings.kafka, self.topic, count, timeout=30)
        result = []
        for record in records:
            event = record.json()
            event["_key"] = (record.key or b"").decode()
            result.append(event)
        return result

    async def depth(self) -> int:
        """Records in the topic (end minus beginning offsets over all partitions)."""
        consumer = AIOKafkaConsumer(
            **connection_options(self.settings.kafka),
            group_id=f"tier-depth-{uuid.uuid4().hex[:8]}",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self.topic)
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(self.topic) or set()
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            ends = await consumer.end_offsets(tps)
            begins = await consumer.beginning_offsets(tps)
            return sum(ends[tp] - begins[tp] for tp in tps)
        finally:
            await consumer.stop()


@dataclass
class CrashOnce:
    """A chunk writer that crashes shard ``shard``'s first attempt at its second chunk.

    Every other chunk is stored by the production writer; each call is recorded as
    ``(shard index, attempt, chunk number)``.
    """

    shard: int
    calls: list[tuple[int, int, int]]

    async def __call__(
        self, conn: asyncpg.Connection, shard: ShardInput, number: int, chunk: pl.DataFrame
    ) -> int:
        attempt = activity.info().attempt
        self.calls.append((shard.shard.index, attempt, number))
        if shard.shard.index == self.shard and attempt == 1 and number == 1:
            raise RuntimeError(f"worker lost in the middle of shard {self.shard}")
        return await write_chunk(conn, shard, number, chunk)


def program_file(tmp_path: Path) -> Path:
    """The shipped default program (copied, so a test may edit it)."""
    source = runs.program_path(Settings(tier_program=None))
    target = tmp_path / "program.yaml"
    target.write_text(source.read_text())
    return target


def generate(
    settings: Settings, period: str, members: int, seed: int, file_format: str = "parquet"
) -> Path:
    """A generated extract for ``period`` under the settings' extract root."""
    from workers.tiers.generator import generate_extract

    folder = settings.tier_extract_root / period
    generate_extract(folder, members=members, seed=seed, period=period, file_format=file_format)
    return folder


def expected(settings: Settings, period: str, previous: pl.DataFrame) -> pl.DataFrame:
    """The engine's results for the whole extract, shaped as stored (no sharding)."""
    assert settings.tier_program is not None
    validated = runs.validate(settings.tier_program, settings.tier_extract_root / period, period)
    frame = runs.score_frames(validated.program, validated.frames, previous, period)
    return canonical(frame.select(COMPARED).sort("member_id"))


@asynccontextmanager
async def harness(
    base_settings: Settings,
    temporal_client: Client,
    postgres_url: str,
    tmp_path: Path,
    chunk_writer: ChunkWriter = write_chunk,
) -> AsyncIterator[Harness]:
    """A worker on a queue of its own, fresh topics, extracts under ``tmp_path``."""
    await upgrade(postgres_url)
    settings = base_settings.model_copy(
        update={
            "topics": unique_topics("tiers"),
            "database": base_settings.database.model_copy(update={"url": postgres_url}),
            "tier_extract_root": tmp_path / "extracts",
        }
    )
    settings = settings.model_copy(update={"tier_program": program_file(tmp_path)})
    await ensure_topics(settings.kafka, [settings.topics.tier_levels])
    engine = create_engine(postgres_url, pool_size=4)
    sessions = session_factory(engine)
    publisher = EventPublisher(settings.kafka)
    await publisher.start()
    activities = TierActivities(sessions, publisher, settings, chunk_writer=chunk_writer)
    queue = f"tiers-{uuid.uuid4().hex[:8]}"
    try:
        async with Worker(
            temporal_client,
            task_queue=queue,
            workflows=[TierScoringWorkflow, MonthlyTierScoringWorkflow],
            activities=activities.all(),
        ):
            yield Harness(settings, sessions, temporal_client, queue, activities)
    finally:
        await publisher.stop()
        await engine.dispose()


_YEARS = itertools.count(2100)
"""Years handed out so far: one per call, so two tests never share a period (a random year
collided often enough to hand a test another test's completed run)."""


def unique_periods(count: int) -> list[str]:
    """Consecutive periods no other test uses (workflow ids are shared by the session)."""
    year = next(_YEARS)
    return [f"{year:04d}-{month:02d}" for month in range(1, count + 1)]


def runs_input(period: str) -> Any:
    """Three shards of small chunks, so a shard has several chunks to resume between."""
    from contracts.tiers.runs import TierScoringInput

    return TierScoringInput(period=period, shard_count=3, chunk_size=200)


async def wait_result(handle: Any, timeout: float = 60.0) -> TierRunReport:
    """The run's report once the child exists and completes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            result: TierRunReport = await handle.result()
            return result
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)


@dataclass
class WatchShards:
    """A chunk writer that stores like production and notes the files of each shard it writes.

    With ``break_program`` set, the first chunk also overwrites that program file with invalid
    YAML: shards that load the program afterwards fail with ``ProgramError`` (a run failing
    for good midway, after ``prepare`` wrote every shard).
    """

    seen: dict[Path, list[str]] = field(default_factory=dict)
    break_program: Path | None = None

    async def __call__(
        self, conn: asyncpg.Connection, shard: ShardInput, number: int, chunk: pl.DataFrame
    ) -> int:
        folder = Path(shard.shard.folder)
        self.seen[folder] = await asyncio.to_thread(_names, folder)
        if self.break_program is not None:
            await asyncio.to_thread(self.break_program.write_text, "levels: [unclosed\n")
        return await write_chunk(conn, shard, number, chunk)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@dataclass
class HoldShards:
    """A chunk writer that holds every shard at its first chunk while ``holding``.

    A held call notes the shard folder, sets ``entered`` and waits for ``release`` (then stores
    nothing); when not holding it stores like production. The test stops a held run from
    outside (cancel, terminate) and releases the writer when done.
    """

    holding: bool = True
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    folders: set[Path] = field(default_factory=set)

    async def __call__(
        self, conn: asyncpg.Connection, shard: ShardInput, number: int, chunk: pl.DataFrame
    ) -> int:
        if not self.holding:
            return await write_chunk(conn, shard, number, chunk)
        self.folders.add(Path(shard.shard.folder))
        self.entered.set()
        await self.release.wait()
        return 0

    async def held(self, run: Path) -> None:
        """Wait until a shard of the run folder ``run`` is held (other runs' calls ignored)."""
        while not any(folder.parent == run for folder in self.folders):
            self.entered.clear()
            await self.entered.wait()


def existing(folders: set[Path]) -> list[Path]:
    """Those of ``folders`` still on disk."""
    return sorted(folder for folder in folders if folder.exists())


def work_left(settings: Settings) -> list[Path]:
    """Everything (files and folders) left under the work root of ``settings``."""
    root = workspace.work_root(settings.tier_extract_root)
    return sorted(root.rglob("*")) if root.exists() else []


async def activity_attempts(handle: WorkflowHandle[Any, Any], activity_type: str) -> list[int]:
    """The attempt number each ``activity_type`` activity of the run ended on, from history.

    Temporal writes an activity's started event once, when it closes, with the attempt it
    reached: ``[1]`` is one activity that was not retried.
    """
    types: dict[int, str] = {}
    attempts = []
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled = event.activity_task_scheduled_event_attributes
            types[event.event_id] = scheduled.activity_type.name
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            if types.get(started.scheduled_event_id) == activity_type:
                attempts.append(started.attempt)
    return attempts


def refusal_in(err: BaseException, error_type: str) -> ApplicationError | None:
    """The ``ApplicationError`` of type ``error_type`` in a workflow failure's cause chain."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type == error_type:
            return cause
        cause = getattr(cause, "cause", None)
    return None
