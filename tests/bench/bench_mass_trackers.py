"""Benchmark: one mass Tracker batch of N members against real servers.

Generates a membership register (5 % of the listed members unknown, 2 % closed) and a CSV
member file, reads the file as ``memberflow trackers mass`` does, stores the batch, and runs
``MassTrackerWorkflow`` on a worker in this process (leads on the Sales Tracker, no follow-ups).
Prints members/s and the peak RSS of this (worker) process, and the ratio against a baseline
measured in the same run: the existing one-note-at-a-time store path
(``tracker_store.append_conversation``) for a sample of members, extrapolated per member.

    python -m tests.bench.bench_mass_trackers --members 100000 [--sample 500] [--chunk 1000]

Servers: the ``MEMBERFLOW_*`` environment when ``MEMBERFLOW_DATABASE_URL`` is set, otherwise a
throwaway local stack.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from temporalio.worker import Worker

from contracts.ids import mass_tracker_workflow_id
from contracts.trackers.mass import MassMode, MassTrackerInput, MassTrackerReport, MassTrackerSpec
from tests.bench.memory import peak_rss_mib
from tests.bench.servers import bench_servers
from tests.secrets import temporal_settings
from workers.platform.database import create_engine, session_factory
from workers.platform.member_search import member_search_key
from workers.platform.memberships import import_memberships, read_file
from workers.platform.migrate import upgrade
from workers.platform.operations import load_ops_config
from workers.platform.settings import DatabaseSettings, KafkaSettings, Settings
from workers.platform.temporal_client import connect
from workers.trackers import tracker_store
from workers.trackers.mass_activities import MassTrackerActivities
from workers.trackers.mass_batches import submit_batch
from workflows.trackers.mass_trackers import MassTrackerWorkflow

WRITER = "BENCH"


@dataclass(frozen=True)
class Figures:
    """One batch as measured."""

    members: int
    submit_seconds: float
    """Reading the file and storing the batch with its members."""
    run_seconds: float
    """From starting the workflow to its result."""
    report: MassTrackerReport
    peak_rss_mib: float
    rss_before_mib: float
    baseline_sample: int
    baseline_seconds_per_member: float

    @property
    def members_per_second(self) -> float:
        """Listed members handled (written or skipped) per second of the workflow's run."""
        return self.members / self.run_seconds

    @property
    def baseline_extrapolated_seconds(self) -> float:
        """The one-at-a-time path's time for the whole list, extrapolated from the sample."""
        return self.baseline_seconds_per_member * self.members

    @property
    def speed_ratio(self) -> float:
        """How many times faster the batch ran than the one-at-a-time path would."""
        return self.baseline_extrapolated_seconds / self.run_seconds


def print_figures(f: Figures) -> None:
    """The batch's figures."""
    r = f.report
    print(f"\n== mass Trackers: {f.members:,} listed members, leads on {r.tracker_type} ==")
    print(f"submit (read file + store)   {f.submit_seconds:8.2f} s")
    print(f"run (workflow start→result)  {f.run_seconds:8.2f} s")
    print(f"throughput                   {f.members_per_second:10,.0f} members/s")
    print(f"created / appended / skipped {r.created:,} / {r.appended:,} / {r.skipped:,}")
    print(
        f"peak RSS (worker process)    {f.peak_rss_mib:8.0f} MiB (before: {f.rss_before_mib:.0f})"
    )
    print(
        f"baseline: one note at a time {f.baseline_seconds_per_member * 1000:8.2f} ms/member "
        f"(sample {f.baseline_sample}) → {f.baseline_extrapolated_seconds:,.0f} s for the list"
    )
    print(f"speed-up over the baseline   {f.speed_ratio:8.1f} x")


async def bench(env: dict[str, str], members: int, sample: int, chunk: int, work: Path) -> Figures:
    """Generate, submit, run one batch and the baseline; print and return the figures."""
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=env["MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS"]),
        temporal=temporal_settings(env, task_queue=f"mass-bench-{tag}"),
        database=DatabaseSettings(url=env["MEMBERFLOW_DATABASE_URL"]),
    )
    ops = load_ops_config(None)
    await upgrade(settings.database.url)
    engine = create_engine(settings.database.url, pool_size=4)
    sessions = session_factory(engine)
    rng = random.Random(tag)
    base = rng.randrange(10**10, 9 * 10**10)
    listed = [str(base + i) for i in range(members)]
    registered = listed[: members - members // 20]  # the last 5 % are unknown
    closed = set(rng.sample(registered, members // 50))
    await import_memberships(
        sessions,
        [(m, date(2010, 1, 1), date(2020, 1, 1) if m in closed else None) for m in registered],
    )
    path = work / "members.csv"
    path.write_text("member_id\n" + "\n".join(listed) + "\n")
    del listed, registered, closed
    client = await connect(settings.temporal)
    spec = MassTrackerSpec(
        batch_id=f"bench-{tag}",
        mode=MassMode.LEADS,
        tracker_type="ST",
        memo_type="SL",
        task="CCAPP",
    )
    rss_before = peak_rss_mib()
    began = time.perf_counter()
    from_file = [str(m) for m in read_file(path, ("member_id",))["member_id"]]
    submitted = await submit_batch(
        sessions, ops, spec, from_file, requested_by=WRITER, as_of=date.today()
    )
    del from_file
    submit_seconds = time.perf_counter() - began
    activities = MassTrackerActivities(sessions, ops, member_search_key(settings.temporal))
    try:
        async with Worker(
            client,
            task_queue=settings.temporal.task_queue,
            workflows=[MassTrackerWorkflow],
            activities=activities.all(),
        ):
            began = time.perf_counter()
            report = await client.execute_workflow(
                MassTrackerWorkflow.run,
                MassTrackerInput(
                    batch_id=spec.batch_id,
                    members_total=submitted.members_total,
                    chunk_size=chunk,
                ),
                id=mass_tracker_workflow_id(spec.batch_id),
                task_queue=settings.temporal.task_queue,
            )
            run_seconds = time.perf_counter() - began
        peak = peak_rss_mib()
        # The baseline: the same lead, one member and one transaction at a time.
        began = time.perf_counter()
        for i in range(sample):
            await tracker_store.append_conversation(
                sessions,
                ops,
                member_id=str(base + members + i),
                tracker_type="ST",
                memo_type="SL",
                employee_id=WRITER,
                text="Lead: Credit card application",
                idempotency_key=f"bench-baseline/{tag}/{i}",
                need_group="BORROW",
                task="CCAPP",
            )
        per_member = (time.perf_counter() - began) / sample
    finally:
        await engine.dispose()
    figures = Figures(
        members=members,
        submit_seconds=submit_seconds,
        run_seconds=run_seconds,
        report=report,
        peak_rss_mib=peak,
        rss_before_mib=rss_before,
        baseline_sample=sample,
        baseline_seconds_per_member=per_member,
    )
    print_figures(figures)
    return figures


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--chunk", type=int, default=1_000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mass-bench-"))
    try:
        with bench_servers() as env:
            asyncio.run(bench(env, args.members, args.sample, args.chunk, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # the Temporal client's native threads can crash interpreter exit (sdk#300)


if __name__ == "__main__":
    main()
