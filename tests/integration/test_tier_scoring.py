"""The monthly tier scoring run on real Temporal, PostgreSQL and Kafka.

A generated extract of a few thousand members is scored by an in-process worker; the tests read
back the stored rows, the ``tier-levels.v1`` records and the run report. Each test uses periods
of its own (workflow ids are business keys shared by the whole session).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import polars as pl
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from contracts.ids import TIER_SCHEDULE_ID
from contracts.tiers.events import TIER_LEVEL_CHANGED
from contracts.tiers.runs import ShardInput, TierRunReport, previous_period
from tests.conftest import unique_topics
from workers.platform.database import Sessions, create_engine, session_factory
from workers.platform.kafka_client import EventPublisher, connection_options, ensure_topics
from workers.platform.kafka_reader import read_topic
from workers.platform.migrate import upgrade
from workers.platform.settings import Settings
from workers.tiers.runs import persist
from workers.tiers.runs import steps as runs
from workers.tiers.runs.activities import ChunkWriter, TierActivities, write_chunk
from workers.tiers.runs.schedule import ensure_schedule, start_or_get_run
from workflows.tiers.tier_scoring import (
    MonthlyTierScoringWorkflow,
    TierScoringWorkflow,
    period_before,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

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


def generate(settings: Settings, period: str, members: int, seed: int) -> Path:
    """A generated extract for ``period`` under the settings' extract root."""
    from workers.tiers.generator import generate_extract

    folder = settings.tier_extract_root / period
    generate_extract(folder, members=members, seed=seed, period=period, file_format="parquet")
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


def _unique_periods(count: int) -> list[str]:
    """Consecutive periods no other test uses (workflow ids are shared by the session)."""
    year = 2100 + uuid.uuid4().int % 800
    return [f"{year:04d}-{month:02d}" for month in range(1, count + 1)]


async def test_runs_persist_engine_results_and_publish_only_changes(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    first, second = _unique_periods(2)
    async with harness(base_settings, temporal_client, postgres_url, tmp_path) as h:
        generate(h.settings, first, MEMBERS, seed=11)
        empty = pl.DataFrame(schema={"member_id": pl.String, "level_code": pl.String})

        # First scoring: every member stored exactly as the engine computes them ...
        report = await h.run(first)
        rows = await h.rows(first)
        want = expected(h.settings, first, empty)
        assert rows.height == MEMBERS == report.members_scored
        assert rows.select(COMPARED).equals(want), "stored rows differ from the engine's"
        assert rows["previous_level_code"].null_count() == MEMBERS
        # ... and one level-change event per member (first scoring), keyed by member id.
        assert report.members_changed == report.members_published == MEMBERS
        assert await h.depth() == MEMBERS
        events = await h.events(MEMBERS)
        assert {e["id"] for e in events} == {f"tier-level-{first}-{m}" for m in want["member_id"]}
        assert all(
            e["type"] == TIER_LEVEL_CHANGED and e["_key"] == e["data"]["member_id"] for e in events
        )
        by_member = {e["data"]["member_id"]: e["data"] for e in events}
        sample = want.row(0, named=True)
        assert by_member[sample["member_id"]]["level_code"] == sample["level_code"]
        assert by_member[sample["member_id"]]["points"] == sample["total"]
        assert rows["published_at"].null_count() == 0
        assert sum(report.counts_by_level.values()) == MEMBERS
        assert report.movement["none"] == report.counts_by_level
        stored = await h.run_row(first)
        assert stored is not None and stored["state"] == "completed"
        assert stored["report"]["members_scored"] == MEMBERS

        # Re-running the period: identical rows (published_at included), nothing published.
        again = await h.run(first, rerun=True)
        assert again.rows_written == 0 and again.members_published == 0
        assert (await h.rows(first)).equals(rows)
        assert await h.depth() == MEMBERS

        # Without rerun the completed run is returned, not started again.
        handle, started = await start_or_get_run(h.client, h.task_queue, first)
        assert not started and (await handle.result()).rows_written == 0

        # The next month: previous levels come from the stored month; only changes go out.
        generate(h.settings, second, MEMBERS, seed=12)
        report2 = await h.run(second)
        rows2 = await h.rows(second)
        previous = rows.select("member_id", "level_code")
        want2 = expected(h.settings, second, previous)
        assert rows2.select(COMPARED).equals(want2)
        changed = want2.filter(
            pl.col("previous_level_code").is_null()
            | (pl.col("previous_level_code") != pl.col("level_code"))
        )
        assert 0 < changed.height < MEMBERS
        assert report2.members_changed == report2.members_published == changed.height
        assert await h.depth() == MEMBERS + changed.height
        events = await h.events(MEMBERS + changed.height)
        second_ids = {e["id"] for e in events if e["data"]["period"] == second}
        assert second_ids == {f"tier-level-{second}-{m}" for m in changed["member_id"]}
        moved = sum(
            n
            for before, row in report2.movement.items()
            for after, n in row.items()
            if before != after
        )
        assert moved == changed.height


async def test_invalid_extract_fails_before_anything_is_written(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    (period,) = _unique_periods(1)
    async with harness(base_settings, temporal_client, postgres_url, tmp_path) as h:
        folder = generate(h.settings, period, 300, seed=5)
        members = pl.read_parquet(folder / "members.parquet")
        pl.concat([members, members.head(1)]).write_parquet(folder / "members.parquet")
        with pytest.raises(WorkflowFailureError) as failure:
            await h.run(period)
        cause: Any = failure.value.cause
        while getattr(cause, "cause", None) is not None:
            cause = cause.cause
        assert "members" in str(cause) and "member_id" in str(cause)
        assert await h.run_row(period) is None
        assert (await h.rows(period)).height == 0
        assert await h.depth() == 0


async def test_shard_failing_midway_resumes_without_redoing_finished_shards(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    (period,) = _unique_periods(1)
    crash = CrashOnce(shard=1, calls=[])
    async with harness(base_settings, temporal_client, postgres_url, tmp_path, crash) as h:
        generate(h.settings, period, MEMBERS, seed=21)
        handle = await h.client.start_workflow(
            TierScoringWorkflow.run,
            runs_input(period),
            id=f"tier-scoring-{period}",
            task_queue=h.task_queue,
        )
        report = await handle.result()

        def chunks_written(shard: int, attempt: int) -> list[int]:
            return [n for s, a, n in crash.calls if (s, a) == (shard, attempt)]

        attempts = {(shard, attempt) for shard, attempt, _ in crash.calls}
        assert attempts == {(0, 1), (1, 1), (1, 2), (2, 1)}, (
            "shard 1 is retried once; finished shards are not redone"
        )
        assert chunks_written(1, 1) == [0, 1], "the first attempt died at chunk 1"
        retried = chunks_written(1, 2)
        assert retried == list(range(1, len(retried) + 1)), "the retry resumed after chunk 0"
        assert len(retried) >= 2, "shard 1 has chunks after the one that failed"
        rows = await h.rows(period)
        empty = pl.DataFrame(schema={"member_id": pl.String, "level_code": pl.String})
        assert rows.select(COMPARED).equals(expected(h.settings, period, empty))
        assert report.members_scored == MEMBERS
        assert await h.depth() == report.members_published == MEMBERS


def runs_input(period: str) -> Any:
    """Three shards of small chunks, so a shard has several chunks to resume between."""
    from contracts.tiers.runs import TierScoringInput

    return TierScoringInput(period=period, shard_count=3, chunk_size=200)


async def test_monthly_schedule_spec_and_trigger_scores_previous_month(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    async with harness(base_settings, temporal_client, postgres_url, tmp_path) as h:
        schedule_id = f"{TIER_SCHEDULE_ID}-{uuid.uuid4().hex[:6]}"
        time_zone = "America/Detroit"
        await ensure_schedule(h.client, h.task_queue, time_zone, schedule_id=schedule_id)
        await ensure_schedule(h.client, h.task_queue, time_zone, schedule_id=schedule_id)
        schedule = h.client.get_schedule_handle(schedule_id)
        try:
            description = await schedule.describe()
            spec = description.schedule.spec
            assert spec.time_zone_name == time_zone
            (calendar,) = spec.calendars
            assert [r.start for r in calendar.day_of_month] == [1]
            assert [r.start for r in calendar.hour] == [2]
            policy = description.schedule.policy
            assert policy.catchup_window == timedelta(days=1)
            assert policy.overlap.name == "SKIP"

            # Trigger now: the monthly workflow scores the month before this one, in Detroit.
            from datetime import UTC, datetime

            period = period_before(datetime.now(UTC), time_zone)
            generate(h.settings, period, 200, seed=3)
            await schedule.trigger()
            child = h.client.get_workflow_handle_for(
                TierScoringWorkflow.run, f"tier-scoring-{period}"
            )
            report = await wait_result(child)
            assert report.period == period and report.members_scored == 200
            assert previous_period(period) < period
        finally:
            await schedule.delete()


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


async def test_api_starts_runs_and_shows_reports_and_member_summaries(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    import httpx
    from fastapi import FastAPI

    from contracts.platform.operations import OpsConfig
    from workers.platform.web.auth import Caller, current_employee
    from workers.platform.web.dependencies import DeskServices, bind
    from workers.tiers.runs.routes import router

    (period,) = _unique_periods(1)
    async with harness(base_settings, temporal_client, postgres_url, tmp_path) as h:
        generate(h.settings, period, 300, seed=8)
        app = FastAPI()
        app.include_router(router, prefix="/api/v1")
        queue = h.settings.temporal.model_copy(update={"task_queue": h.task_queue})
        settings = h.settings.model_copy(update={"temporal": queue})
        bind(app, DeskServices(h.sessions, h.client, OpsConfig(), settings))
        app.dependency_overrides[current_employee] = lambda: Caller(
            employee_id="SR", name="Test", role="employee"
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            assert (
                await api.post("/api/v1/tier-scoring/runs", json={"period": "2026-13"})
            ).status_code == 422
            assert (await api.get("/api/v1/tier-scoring/runs/1999-01")).status_code == 404
            started = await api.post("/api/v1/tier-scoring/runs", json={"period": period})
            assert started.status_code == 200, started.text
            assert started.json()["workflow_id"] == f"tier-scoring-{period}"
            report = await wait_result(
                h.client.get_workflow_handle_for(TierScoringWorkflow.run, f"tier-scoring-{period}")
            )
            run = (await api.get(f"/api/v1/tier-scoring/runs/{period}")).json()
            assert run["state"] == "completed"
            assert run["report"]["counts_by_level"] == report.counts_by_level
            again = (await api.post("/api/v1/tier-scoring/runs", json={"period": period})).json()
            assert again["state"] == "completed"  # returned, not started again
            member = (await h.rows(period)).row(0, named=True)
            latest = await api.get(f"/api/v1/members/{member['member_id']}/tier")
            assert latest.status_code == 200 and latest.json()["period"] >= period
            summary = await api.get(
                f"/api/v1/members/{member['member_id']}/tier", params={"period": period}
            )
            assert summary.status_code == 200, summary.text
            body = summary.json()
            assert body["period"] == period and body["level_code"] == member["level_code"]
            assert body["total"] == member["total"]
            assert sum(body["points_by_item"].values()) == member["total"]
            assert sum(body["points_by_goal"].values()) == member["total"]
            assert body["possible_points"] == sum(body["possible_by_goal"].values())
            assert len(body["points_by_item"]) >= len(json.loads(member["points_by_item"]))
            assert (await api.get("/api/v1/members/999999999999/tier")).status_code == 404
            assert (await api.get("/api/v1/members/12a/tier")).status_code == 422
