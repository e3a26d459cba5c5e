"""Process entry points: the Temporal worker, the Kafka bridge, the HTTP API, or all three."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from prometheus_client import CollectorRegistry, start_http_server
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from contracts.contacts.workflow import PrivateContactsOptions
from contracts.platform.operations import OpsConfig
from workers.app.bridge import BridgeDeps, acknowledge, build_broker, consume_until
from workers.app.bridge_health import BridgeHealth
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
    from workers.platform.database import create_engine, session_factory
    from workers.platform.migrate import upgrade

    ops = load_ops_config(settings.config_file)
    await upgrade(settings.database.url)
    await ensure_topics(settings.kafka, settings.topics.all_topics())
    engine = create_engine(settings.database.url)
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


def build_worker(svc: Services) -> Worker:
    """A worker with every workflow and activity of memberflow."""
    from workers.assignments.activities import AssignmentActivities
    from workers.contacts.activities import ContactActivities
    from workers.tiers.runs.activities import TierActivities
    from workers.trackers.activities import FollowUpActivities
    from workflows.assignments.follow_up_assignment import FollowUpAssignmentWorkflow
    from workflows.contacts.contact_request import ContactRequestWorkflow
    from workflows.tiers.tier_scoring import MonthlyTierScoringWorkflow, TierScoringWorkflow
    from workflows.trackers.follow_up import FollowUpWorkflow

    sessions, publisher, topics = svc.session_factory, svc.publisher, svc.settings.topics
    activities = [
        *ContactActivities(sessions, publisher, topics, svc.ops).all(),
        *FollowUpActivities(sessions, publisher, topics, svc.ops).all(),
        *AssignmentActivities(sessions, svc.ops).all(),
        *TierActivities(sessions, publisher, svc.settings).all(),
    ]
    return Worker(
        svc.temporal,
        task_queue=svc.settings.temporal.task_queue,
        workflows=[
            ContactRequestWorkflow,
            FollowUpWorkflow,
            FollowUpAssignmentWorkflow,
            TierScoringWorkflow,
            MonthlyTierScoringWorkflow,
        ],
        activities=activities,
        workflow_runner=workflow_runner(),
        # Sync tier activities (polars) run in threads; async ones share the event loop.
        activity_executor=ThreadPoolExecutor(max_workers=4),
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

    temporal, task_queue = svc.temporal, svc.settings.temporal.task_queue
    return BridgeDeps(
        departments={d.code for d in svc.ops.departments},
        contact_options=contact_options(svc.ops),
        start_contact=partial(start_contact_request, temporal, task_queue),
        acknowledge=acknowledge,
        start_assignment=make_assignment_starter(
            temporal, task_queue, svc.ops, svc.session_factory
        ),
    )


async def _until_stopped(*tasks: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await asyncio.gather(*(task(stop) for task in tasks))


async def ensure_tier_schedule(svc: Services) -> None:
    """Create or update the monthly scoring Schedule in the program's time zone."""
    from workers.tiers.runs.schedule import ensure_schedule
    from workers.tiers.runs.steps import program_path
    from workers.tiers.scoring.program import load_program

    program = load_program(program_path(svc.settings))
    await ensure_schedule(svc.temporal, svc.settings.temporal.task_queue, program.time_zone)


async def remove_leftover_tier_shards(svc: Services) -> None:
    """Remove the shard files (member balances) of tier runs that closed without doing so."""
    from workers.tiers.runs.workspace import remove_closed_runs, work_root

    removed = await remove_closed_runs(svc.temporal, work_root(svc.settings.tier_extract_root))
    if removed:
        log.info("removed the shard files of %d closed tier runs", len(removed))


async def _worker_task(svc: Services, stop: asyncio.Event) -> None:
    await ensure_tier_schedule(svc)
    await remove_leftover_tier_shards(svc)
    worker = build_worker(svc)
    async with worker:
        log.info("worker polling task queue %s", svc.settings.temporal.task_queue)
        await stop.wait()


async def _bridge_task(svc: Services, stop: asyncio.Event) -> None:
    deps = build_bridge_deps(svc)
    registry = metrics_registry(svc.settings)
    health = svc.bridge_health
    broker = build_broker(svc.settings.kafka, svc.settings.topics, lambda: deps, registry, health)
    await broker.start()
    log.info("bridge consuming %s", ", ".join(svc.settings.topics.inbound()))
    await consume_until(broker, health, stop)


async def _api_task(svc: Services, stop: asyncio.Event) -> None:
    from workers.app.api import create_app
    from workers.app.api_server import EmbeddedServer, server_config

    server = EmbeddedServer(
        server_config(create_app(svc), svc.settings.api_host, svc.settings.api_port)
    )
    serve = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await serve


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
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
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
        await _until_stopped(*(partial(run_part, part, svc) for part in parts))
