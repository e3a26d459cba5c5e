"""Benchmark: the whole monthly tier scoring run against real servers.

Read the extract, score, persist to PostgreSQL and publish level changes, through
``TierScoringWorkflow`` on a worker in this process, for N generated members; prints wall time
per phase, the total, and the peak RSS of this (worker) process. The first month publishes an
event for every member (first scoring); the second publishes only the members whose level moved.

    python -m tests.bench.bench_tier_run --members 1000000 [--months 2] [--shards 4]

Servers: the ``MEMBERFLOW_*`` environment when ``MEMBERFLOW_DATABASE_URL`` is set, otherwise a
throwaway local stack (``deploy.stack.LocalStack``) in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from temporalio.worker import Worker

from contracts.ids import tier_scoring_workflow_id
from contracts.tiers.runs import TierRunReport, TierScoringInput
from tests.bench.memory import peak_rss_mib
from tests.bench.servers import bench_servers
from tests.secrets import temporal_settings
from workers.platform.database import create_engine, session_factory
from workers.platform.kafka_client import EventPublisher, ensure_topics
from workers.platform.migrate import upgrade
from workers.platform.settings import DatabaseSettings, KafkaSettings, Settings
from workers.platform.temporal_client import connect
from workers.tiers.runs.activities import TierActivities
from workflows.tiers.tier_scoring import TierScoringWorkflow

GOALS = {"1000000": "< 180 s, < 2 GiB"}


def _generate(root: str, period: str, members: int, seed: int) -> None:
    from workers.tiers.generator import generate_extract

    generate_extract(Path(root) / period, members=members, seed=seed, period=period)


def generate(root: Path, period: str, members: int, seed: int) -> float:
    """Generate in a child process, so its memory does not count as the worker's."""
    began = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_generate, args=(str(root), period, members, seed))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"generator failed ({child.exitcode})")
    return time.perf_counter() - began


@dataclass(frozen=True)
class RunFigures:
    """One month's run as the benchmark measured it."""

    label: str
    members: int
    """Members generated for the month."""
    wall_seconds: float
    """From starting the workflow to its result."""
    report: TierRunReport
    peak_rss_mib: float
    """Of this (worker) process, after the run."""

    @property
    def members_per_second(self) -> float:
        """Members scored, stored and published per second of wall time."""
        return self.report.members_scored / self.wall_seconds


def print_figures(figures: RunFigures) -> None:
    """One run's figures."""
    report = figures.report
    print(f"\n== {figures.label}: period {report.period}, {report.members_scored:,} members ==")
    print(f"wall (start to result)     {figures.wall_seconds:8.2f} s")
    print(f"throughput                 {figures.members_per_second:10,.0f} members/s")
    for phase, seconds in report.timings.items():
        print(f"  {phase:<25}{seconds:8.2f} s")
    print(f"level changed              {report.members_changed:>10,}")
    print(f"events published           {report.members_published:>10,}")
    print(f"rows written               {report.rows_written:>10,}")
    print(f"counts by level            {report.counts_by_level}")
    print(f"peak RSS (worker process)  {figures.peak_rss_mib:8.0f} MiB")


async def bench(
    env: dict[str, str], members: int, months: int, shards: int, work: Path
) -> list[RunFigures]:
    """Generate, then run ``months`` consecutive periods; print and return their figures."""
    run_tag = uuid.uuid4().hex[:6]
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=env["MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS"]),
        temporal=temporal_settings(env, task_queue=f"tier-bench-{run_tag}"),
        database=DatabaseSettings(url=env["MEMBERFLOW_DATABASE_URL"]),
        tier_extract_root=work / "extracts",
    )
    topics = settings.topics.model_copy(update={"tier_levels": f"tier-bench-{run_tag}.v1"})
    settings = settings.model_copy(update={"topics": topics})
    year = 2200 + int(run_tag, 16) % 700  # fresh periods: nothing stored before
    periods = [f"{year}-{m:02d}" for m in range(1, months + 1)]
    for index, period in enumerate(periods):
        seconds = generate(settings.tier_extract_root, period, members, seed=100 + index)
        print(f"generated {period}: {members:,} members in {seconds:.1f} s (child process)")
    await upgrade(settings.database.url)
    await ensure_topics(settings.kafka, [topics.tier_levels])
    engine = create_engine(settings.database.url, pool_size=4)
    publisher = EventPublisher(settings.kafka)
    await publisher.start()
    client = await connect(settings.temporal)
    activities = TierActivities(session_factory(engine), publisher, settings)
    print(f"peak RSS before the runs: {peak_rss_mib():.0f} MiB")
    measured: list[RunFigures] = []
    try:
        async with Worker(
            client,
            task_queue=settings.temporal.task_queue,
            workflows=[TierScoringWorkflow],
            activities=activities.all(),
        ):
            for index, period in enumerate(periods):
                began = time.perf_counter()
                report = await client.execute_workflow(
                    TierScoringWorkflow.run,
                    TierScoringInput(period=period, shard_count=shards),
                    id=tier_scoring_workflow_id(period),
                    task_queue=settings.temporal.task_queue,
                )
                figures = RunFigures(
                    label="first scoring" if index == 0 else "following month",
                    members=members,
                    wall_seconds=time.perf_counter() - began,
                    report=report,
                    peak_rss_mib=peak_rss_mib(),
                )
                print_figures(figures)
                measured.append(figures)
    finally:
        await publisher.stop()
        await engine.dispose()
    print(f"\ngoal for 1,000,000 members: {GOALS['1000000']}")
    return measured


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=2)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tier-bench-"))
    try:
        with bench_servers() as env:
            asyncio.run(bench(env, args.members, args.months, args.shards, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # the Temporal client's native threads can crash interpreter exit (sdk#300)


if __name__ == "__main__":
    main()
