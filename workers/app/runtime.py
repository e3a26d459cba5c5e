"""Process entry points: the Temporal worker, the Kafka bridge, the HTTP API, or all three."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, Literal

from prometheus_client import CollectorRegistry, start_http_server
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from contracts.contacts.workflow import PrivateContactsOptions
from contracts.platform.operations import OpsConfig
from workers.app.bridge import BridgeDeps, InFlight, acknowledge, build_broker, consume_until
from workers.app.bridge_health import BridgeHealth
from workers.app.running_activities import RunningActivities
from workers.contacts.intake import start_contact_request
from workers.platform.database import Sessions
from workers.platform.kafka_client import EventPublisher, ensure_topics
from workers.platform.operations import load_ops_config
from workers.platform.settings import Settings
from workers.platform.temporal_client import connect

log = logging.getLogger("memberflow")


@dataclass
class Services:
    """Connections shared by the parts running in one process."""

    settings: Settings
    ops: OpsConfig
    temporal: Client
    publisher: EventPublisher
    session_factory: Sessions
    # Red once the bridge stopped on a failure that will not heal (read by health endpoints).
    bridge_health: BridgeHealth = field(default_factory=BridgeHealth)


def contact_options(ops: OpsConfig) -> PrivateContactsOptions:
    """The Private Contacts options a new request is worked under."""
    pc = ops.private_contacts
    return PrivateContactsOptions(
        replies_allowed=pc.replies_allowed,
        copy_to_tracker=pc.copy_to_tracker,
        tracker_type=pc.tracker_type,
        memo_type=pc.memo_type,
        claim_timeout_seconds=int(pc.claim_timeout.total_seconds()),
    )


@asynccontextmanager
async def services(settings: Settings) -> AsyncIterator[Services]:
    """Connect to Temporal, Kafka and PostgreSQL (migrating the schema) for one process."""
    from workers.platform.database import engine_for, session_factory
    from workers.platform.migrate import upgrade

    ops = load_ops_config(settings.config_file)
    await upgrade(settings.database.url)
    await ensure_topics(settings.kafka, settings.topics.all_topics())
    engine = engine_for(settings.database)
    publisher = EventPublisher(settings.kafka)
    await publisher.start()
    try:
        from workers.platform.employees import sync_employees_from_config

        factory = session_factory(engine)
        await sync_employees_from_config(factory, ops)
        temporal = await connect(settings.temporal)
        yield Services(settings, ops, temporal, publisher, factory)
    finally:
        await publisher.stop()
        await engine.dispose()


def worker_workflows() -> list[type]:
    """Every workflow class memberflow's worker runs (``memberflow ops`` counts the same list)."""
    from workflows.assignments.follow_up_assignment import FollowUpAssignmentWorkflow
    from workflows.contacts.contact_request import ContactRequestWorkflow
    from workflows.tiers.tier_scoring import MonthlyTierScoringWorkflow, TierScoringWorkflow
    from workflows.trackers.follow_up import FollowUpWorkflow
    from workflows.trackers.mass_trackers import MassTrackerWorkflow
    from workflows.trackers.relocations import ConsolidateTrackersWorkflow, CopyTrackerWorkflow
    from workflows.trackers.retention import TrackerRetentionWorkflow

    return [
        ContactRequestWorkflow,
        FollowUpWorkflow,
        FollowUpAssignmentWorkflow,
        TierScoringWorkflow,
        MonthlyTierScoringWorkflow,
        MassTrackerWorkflow,
        ConsolidateTrackersWorkflow,
        CopyTrackerWorkflow,
        TrackerRetentionWorkflow,
    ]


def build_worker(svc: Services, running: RunningActivities | None = None) -> Worker:
    """A worker with every workflow and activity of memberflow."""
    from workers.assignments.activities import AssignmentActivities
    from workers.contacts.activities import ContactActivities
    from workers.platform.directory import DirectoryActivities
    from workers.platform.member_search import member_search_key
    from workers.tiers.runs.activities import TierActivities
    from workers.trackers.activities import FollowUpActivities
    from workers.trackers.mass_activities import MassTrackerActivities
    from workers.trackers.relocation_activities import RelocationActivities
    from workers.trackers.retention_activities import RetentionActivities

    sessions, publisher, topics = svc.session_factory, svc.publisher, svc.settings.topics
    search_key = member_search_key(svc.settings.temporal)
    activities = [
        *ContactActivities(sessions, publisher, topics, svc.ops, search_key).all(),
        *FollowUpActivities(sessions, publisher, topics, svc.ops).all(),
        *AssignmentActivities(sessions, svc.ops, search_key).all(),
        *TierActivities(sessions, publisher, svc.settings).all(),
        *DirectoryActivities(sessions).all(),
        *MassTrackerActivities(sessions, svc.ops, search_key).all(),
        *RelocationActivities(sessions, svc.ops).all(),
        *RetentionActivities(sessions, svc.ops).all(),
    ]
    return Worker(
        svc.temporal,
        task_queue=svc.settings.temporal.task_queue,
        workflows=worker_workflows(),
        activities=activities,
        workflow_runner=workflow_runner(),
        # Sync tier activities (polars) run in threads; async ones share the event loop.
        activity_executor=ThreadPoolExecutor(max_workers=4),
        # On SIGTERM running activities get the grace to finish, then are cancelled: each is
        # idempotent and Temporal retries it on another worker. Workflow tasks are handed back.
        graceful_shutdown_timeout=timedelta(seconds=svc.settings.shutdown_grace_seconds),
        interceptors=[running] if running is not None else [],
    )


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with the pure contract models passed through.

    ``contracts`` holds only pydantic models and constants (no I/O, no clocks), so re-importing
    it into every workflow run's sandbox would only cost time: with it passed through a new run
    starts in a fraction of the time.
    """
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("contracts")
    )


def build_bridge_deps(svc: Services) -> BridgeDeps:
    """The bridge's view of the configuration, with the real Temporal starts and commit."""
    from workers.assignments.intake import make_assignment_starter
    from workers.platform.member_search import member_search_key

    temporal, task_queue = svc.temporal, svc.settings.temporal.task_queue
    search_key = member_search_key(svc.settings.temporal)
    return BridgeDeps(
        departments={d.code for d in svc.ops.departments},
        contact_options=contact_options(svc.ops),
        start_contact=partial(start_contact_request, temporal, task_queue, search_key),
        acknowledge=acknowledge,
        start_assignment=make_assignment_starter(
            temporal, task_queue, svc.ops, svc.session_factory, search_key
        ),
    )


# Beyond the grace: a part's own shutdown bookkeeping (the worker's cancelled activities
# reporting back, the broker closing its consumers) gets this long before it is abandoned.
_SHUTDOWN_SLACK_SECONDS = 10.0


async def _until_stopped(
    grace: float, parts: dict[str, Callable[[asyncio.Event], Coroutine[Any, Any, None]]]
) -> None:
    """Run ``parts`` until SIGINT/SIGTERM, then give them ``grace`` (+ slack) to stop.

    A part still stopping after that is cancelled and named in an ERROR line, so the process
    exits (code 0, its work handed back) instead of hanging under an orchestrator's kill.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running: dict[asyncio.Task[None], str] = {
        asyncio.create_task(part(stop)): name for name, part in parts.items()
    }
    stopping = asyncio.create_task(stop.wait())
    try:
        # A part failing before any signal ends the process with its error, as before.
        done, _ = await asyncio.wait({*running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in done & running.keys():
            task.result()
        await stop.wait()
        log.info("stopping %s: in-flight work gets up to %.0fs", ", ".join(parts), grace)
        _, late = await asyncio.wait(running, timeout=grace + _SHUTDOWN_SLACK_SECONDS)
        if late:
            log.error(
                "shutdown cut short after %.0fs: %s still stopping; cancelled, exiting anyway",
                grace + _SHUTDOWN_SLACK_SECONDS,
                ", ".join(sorted(running[task] for task in late)),
            )
        for task in running:
            task.cancel()
        await asyncio.wait(running, timeout=_SHUTDOWN_SLACK_SECONDS)
        for task in running.keys() - late:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s failed while stopping", running[task], exc_info=task.exception())
    finally:
        stopping.cancel()


async def ensure_tier_schedule(svc: Services) -> None:
    """Create or update the monthly scoring Schedule in the program's time zone."""
    from workers.tiers.runs.schedule import ensure_schedule
    from workers.tiers.runs.steps import program_path
    from workers.tiers.scoring.program import load_program

    program = load_program(program_path(svc.settings))
    await ensure_schedule(svc.temporal, svc.settings.temporal.task_queue, program.time_zone)


async def ensure_retention_schedule(svc: Services) -> None:
    """Create the monthly Tracker retention Schedule when enabled (off by default), else
    remove one left from an earlier start (``workers/trackers/retention_schedule.py``)."""
    from workers.trackers.retention_schedule import ensure_retention_schedule as ensure

    await ensure(
        svc.temporal,
        svc.settings.temporal.task_queue,
        svc.ops.time_zone,
        enabled=svc.settings.tracker_retention_schedule,
    )


async def remove_leftover_tier_shards(svc: Services) -> None:
    """Remove the shard files (member balances) of tier runs that closed without doing so."""
    from workers.tiers.runs.workspace import remove_closed_runs, work_root

    removed = await remove_closed_runs(svc.temporal, work_root(svc.settings.tier_extract_root))
    if removed:
        log.info("removed the shard files of %d closed tier runs", len(removed))


async def _worker_task(svc: Services, stop: asyncio.Event) -> None:
    await ensure_tier_schedule(svc)
    await ensure_retention_schedule(svc)
    await remove_leftover_tier_shards(svc)
    running = RunningActivities()
    worker = build_worker(svc, running)
    grace = svc.settings.shutdown_grace_seconds
    cut: list[str] = []

    async def note_cut_activities() -> None:
        await asyncio.sleep(grace)
        cut.extend(running.describe())

    async with worker:
        log.info("worker polling task queue %s", svc.settings.temporal.task_queue)
        await stop.wait()
        watcher = asyncio.create_task(note_cut_activities())
    # Leaving ``async with`` is ``worker.shutdown()``: polls stop, workflow tasks go back to
    # Temporal, activities get ``grace`` and are then cancelled (retried elsewhere).
    watcher.cancel()
    if cut:
        log.error(
            "worker shutdown: %d activities still running after the %.0fs grace were cancelled "
            "(Temporal retries them on another worker): %s",
            len(cut),
            grace,
            "; ".join(cut),
        )
    else:
        log.info("worker shutdown: every running activity finished")


async def _bridge_task(svc: Services, stop: asyncio.Event) -> None:
    deps = build_bridge_deps(svc)
    registry = metrics_registry(svc.settings)
    health = svc.bridge_health
    in_flight = InFlight()
    broker = build_broker(
        svc.settings.kafka, svc.settings.topics, lambda: deps, registry, health, in_flight
    )
    await broker.start()
    log.info("bridge consuming %s", ", ".join(svc.settings.topics.inbound()))
    await consume_until(broker, health, stop, in_flight, svc.settings.shutdown_grace_seconds)


async def _api_task(svc: Services, stop: asyncio.Event) -> None:
    from workers.app.api import create_app
    from workers.app.api_server import EmbeddedServer, server_config

    grace = svc.settings.shutdown_grace_seconds
    server = EmbeddedServer(
        server_config(create_app(svc), svc.settings.api_host, svc.settings.api_port, grace)
    )
    serve = asyncio.create_task(server.serve())
    await stop.wait()
    # Uvicorn stops accepting, closes idle connections and lets requests under way finish
    # for ``grace``; then it cancels them.
    loop = asyncio.get_running_loop()
    began = loop.time()
    server.should_exit = True
    await serve
    if loop.time() - began >= grace:
        log.error(
            "api shutdown: requests still under way after the %.0fs grace were cancelled", grace
        )
    else:
        log.info("api shutdown: every request under way was answered")


_metrics_servers: dict[int, CollectorRegistry] = {}


def metrics_registry(settings: Settings) -> CollectorRegistry | None:
    """The process's Prometheus registry, served on ``metrics_port`` (None when off)."""
    port = settings.metrics_port
    if port is None:
        return None
    if port not in _metrics_servers:
        registry = CollectorRegistry()
        start_http_server(port, addr=settings.api_host, registry=registry)
        _metrics_servers[port] = registry
    return _metrics_servers[port]


def _configure_logging(settings: Settings) -> None:
    from workers.platform.logs import configure_logging

    configure_logging(settings.log_level)
    log.info("memberflow starting: %s", settings.describe())


Part = Literal["worker", "bridge", "api"]
"""A process part: ``memberflow run all`` runs every part in one process."""

_TASKS: dict[Part, Callable[[Services, asyncio.Event], Awaitable[None]]] = {
    "worker": _worker_task,
    "bridge": _bridge_task,
    "api": _api_task,
}


async def run_part(part: Part, svc: Services, stop: asyncio.Event) -> None:
    """Run one part on the given connections until ``stop`` is set."""
    await _TASKS[part](svc, stop)


async def run(settings: Settings, parts: Sequence[Part]) -> None:
    """Run the given parts on one set of connections until SIGINT/SIGTERM."""
    _configure_logging(settings)
    async with services(settings) as svc:
        await _until_stopped(
            settings.shutdown_grace_seconds,
            {part: partial(run_part, part, svc) for part in parts},
        )
