"""The monthly tier scoring run on real Temporal, PostgreSQL and Kafka.

A generated extract of a few thousand members is scored by an in-process worker
(``tier_harness.py``); the tests read back the stored rows, the ``tier-levels.v1`` records, the
run report, the run's history and the files it left. Each test uses periods of its own
(workflow ids are business keys shared by the whole session).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from temporalio.client import Client, WorkflowFailureError

from contracts.ids import TIER_SCHEDULE_ID
from contracts.tiers.events import TIER_LEVEL_CHANGED
from contracts.tiers.runs import previous_period
from contracts.vocabulary import Role
from tests.integration.tier_harness import (
    COMPARED,
    MEMBERS,
    CrashOnce,
    HoldShards,
    WatchShards,
    activity_attempts,
    existing,
    expected,
    generate,
    harness,
    refusal_in,
    runs_input,
    unique_periods,
    wait_result,
    work_left,
)
from workers.platform.settings import Settings
from workers.tiers.runs import workspace
from workers.tiers.runs.schedule import ensure_schedule, start_or_get_run
from workflows.tiers.tier_scoring import TierScoringWorkflow, period_before

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_runs_persist_engine_results_and_publish_only_changes(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    first, second = unique_periods(2)
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
    (period,) = unique_periods(1)
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
    (period,) = unique_periods(1)
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


async def test_api_starts_runs_and_shows_reports_and_member_summaries(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    import httpx
    from fastapi import FastAPI

    from contracts.platform.operations import OpsConfig
    from workers.platform.web.auth import Caller, current_employee
    from workers.platform.web.dependencies import DeskServices, bind
    from workers.tiers.runs.routes import router

    (period,) = unique_periods(1)
    async with harness(base_settings, temporal_client, postgres_url, tmp_path) as h:
        generate(h.settings, period, 300, seed=8)
        app = FastAPI()
        app.include_router(router, prefix="/api/v1")
        queue = h.settings.temporal.model_copy(update={"task_queue": h.task_queue})
        settings = h.settings.model_copy(update={"temporal": queue})
        bind(app, DeskServices(h.sessions, h.client, OpsConfig(), settings))
        # Runs are an operator's (docs/security.md); member summaries a desk employee's.
        callers = {
            role: Caller(employee_id=f"T{role.value[:3].upper()}", name="Test", role=role)
            for role in (Role.OPERATOR, Role.EMPLOYEE)
        }
        acting = [callers[Role.OPERATOR]]
        app.dependency_overrides[current_employee] = lambda: acting[0]
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
            assert (await api.get(f"/api/v1/members/{member['member_id']}/tier")).status_code == 403
            acting[0] = callers[Role.EMPLOYEE]
            assert (
                await api.post("/api/v1/tier-scoring/runs", json={"period": period})
            ).status_code == 403
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


# --- Unreadable extracts, and the shard files a run leaves (none) ------------------------

HOLD_GUARD = 120.0
"""Seconds a test waits for a held shard before giving up (a hang guard, not a measurement)."""


def _corrupt(folder: Path, fmt: str) -> None:
    if fmt == "csv":  # a byte that is no UTF-8, in the second account row (line 3)
        lines = (folder / "accounts.csv").read_bytes().split(b"\n")
        lines[2] = lines[2][:1] + b"\xe9" + lines[2][1:]
        (folder / "accounts.csv").write_bytes(b"\n".join(lines))
    else:  # a copy cut short
        data = (folder / "members.parquet").read_bytes()
        (folder / "members.parquet").write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("fmt", "refusal"),
    [
        ("csv", "accounts.csv: line 3: not UTF-8"),
        ("parquet", "members.parquet: not a readable Parquet file"),
    ],
)
async def test_corrupt_extract_fails_at_once_with_one_prepare_attempt(
    base_settings: Settings,
    temporal_client: Client,
    postgres_url: str,
    tmp_path: Path,
    fmt: str,
    refusal: str,
) -> None:
    (period,) = unique_periods(1)
    async with harness(base_settings, temporal_client, postgres_url, tmp_path) as h:
        _corrupt(generate(h.settings, period, 300, seed=6, file_format=fmt), fmt)
        with pytest.raises(WorkflowFailureError) as failure:
            await h.run(period)
        cause = refusal_in(failure.value, "ExtractError")
        assert cause is not None and cause.non_retryable
        assert cause.message.startswith(refusal)
        handle = h.client.get_workflow_handle(f"tier-scoring-{period}")
        assert await activity_attempts(handle, "prepare") == [1], "refused, not retried"
        assert await h.run_row(period) is None
        assert work_left(h.settings) == []


async def test_no_shard_files_remain_after_a_completed_run(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    (period,) = unique_periods(1)
    watch = WatchShards()
    async with harness(base_settings, temporal_client, postgres_url, tmp_path, watch) as h:
        generate(h.settings, period, MEMBERS, seed=31)
        report = await h.run(period)
        assert report.members_scored == MEMBERS
        # The shards were there while they were scored ...
        assert len(watch.seen) == 3
        assert all("accounts.parquet" in files for files in watch.seen.values())
        # ... and nothing is left: no shard file, no run or period folder.
        assert existing(set(watch.seen)) == []
        assert work_left(h.settings) == []


async def test_no_shard_files_remain_after_a_run_failing_midway(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    (period,) = unique_periods(1)
    watch = WatchShards()
    async with harness(base_settings, temporal_client, postgres_url, tmp_path, watch) as h:
        # The first chunk stored breaks the program file: the shards scored after it fail.
        watch.break_program = h.settings.tier_program
        generate(h.settings, period, MEMBERS, seed=32)
        with pytest.raises(WorkflowFailureError) as failure:
            await h.run(period)
        assert watch.seen, "prepare wrote the shards and scoring had begun"
        assert existing(set(watch.seen)) == []
        assert work_left(h.settings) == []
        assert refusal_in(failure.value, "ProgramError") is not None
        run = await h.run_row(period)
        assert run is not None and run["state"] == "failed"


async def test_cancelled_run_leaves_no_shard_files(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    (period,) = unique_periods(1)
    hold = HoldShards()
    async with harness(base_settings, temporal_client, postgres_url, tmp_path, hold) as h:
        generate(h.settings, period, MEMBERS, seed=33)
        handle, _ = await start_or_get_run(h.client, h.task_queue, period, shard_count=3)
        try:
            await asyncio.wait_for(hold.entered.wait(), HOLD_GUARD)
            assert existing(hold.folders), "a shard is being scored from its files"
            await handle.cancel()
            with pytest.raises(WorkflowFailureError):
                await handle.result()
        finally:
            hold.release.set()
        assert existing(hold.folders) == []
        assert work_left(h.settings) == []


async def test_terminated_run_files_go_with_the_next_run_of_the_period(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    (period,) = unique_periods(1)
    hold = HoldShards()
    async with harness(base_settings, temporal_client, postgres_url, tmp_path, hold) as h:
        generate(h.settings, period, MEMBERS, seed=34)
        handle, _ = await start_or_get_run(h.client, h.task_queue, period, shard_count=3)
        try:
            await asyncio.wait_for(hold.entered.wait(), HOLD_GUARD)
            await handle.terminate("stopped by an operator")
            left = existing(hold.folders)
            assert left, "a terminated run runs no code: its files stay until the next run"
            hold.holding = False
            report = await h.run(period)  # the period again: a new run after the terminated
            assert report.members_scored == MEMBERS
        finally:
            hold.release.set()
        assert existing(set(left)) == []
        assert work_left(h.settings) == []


async def test_worker_start_up_removes_the_folders_of_closed_runs_only(
    base_settings: Settings, temporal_client: Client, postgres_url: str, tmp_path: Path
) -> None:
    stopped, running = unique_periods(2)
    hold = HoldShards()
    async with harness(base_settings, temporal_client, postgres_url, tmp_path, hold) as h:
        root = workspace.work_root(h.settings.tier_extract_root)
        generate(h.settings, stopped, 300, seed=35)
        generate(h.settings, running, 300, seed=36)
        first, _ = await start_or_get_run(h.client, h.task_queue, stopped, shard_count=2)
        terminated = workspace.run_folder(root, stopped, first.result_run_id or "")
        await asyncio.wait_for(hold.held(terminated), HOLD_GUARD)
        await first.terminate("stopped by an operator")
        second, _ = await start_or_get_run(h.client, h.task_queue, running, shard_count=2)
        open_run = workspace.run_folder(root, running, second.result_run_id or "")
        try:
            await asyncio.wait_for(hold.held(open_run), HOLD_GUARD)
            # A run Temporal no longer knows (past retention): its folder goes too.
            forgotten = workspace.run_folder(root, stopped, str(uuid.uuid4()))
            await asyncio.to_thread(forgotten.mkdir, parents=True)
            assert existing({terminated, open_run}) == sorted([terminated, open_run])

            removed = await workspace.remove_closed_runs(h.client, root)

            assert sorted(removed) == sorted([terminated, forgotten])
            assert existing({terminated, forgotten, open_run}) == [open_run]
            await second.cancel()
            with pytest.raises(WorkflowFailureError):
                await second.result()
        finally:
            hold.release.set()
        assert work_left(h.settings) == []
