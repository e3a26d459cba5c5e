"""SIGTERM with work in flight: each part finishes or hands it back, exits 0, loses nothing.

Every test runs ``memberflow run <part>`` as a real subprocess against the session's servers,
as in production, and signals it while work is provably under way: records being started, an
activity (or an API request) blocked on a PostgreSQL table lock the test holds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from contracts.contacts.workflow import ContactRequestInput
from contracts.ids import contact_request_workflow_id
from deploy.processes import free_port, port_open
from tests.conftest import unique_topics
from tests.kafka_helpers import contact_event, encoded
from workers.app.runtime import contact_options
from workers.contacts.intake import parse_contact, start_contact_request
from workers.platform.database import create_engine, session_factory
from workers.platform.employees import add_employee
from workers.platform.kafka_client import ensure_topics
from workers.platform.member_search import member_search_key
from workers.platform.migrate import upgrade
from workers.platform.operations import load_ops_config
from workers.platform.settings import Settings

# Polling loops below watch another process (Temporal, Kafka, a subprocess): no event to await.
pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GRACE = 4.0
"""``MEMBERFLOW_SHUTDOWN_GRACE_SECONDS`` of the processes under test: short, to keep tests quick."""

EXIT_TIMEOUT = 60.0
"""How long a signalled process may take before the test calls it hung (generous on purpose)."""


class Part:
    """One ``memberflow run <part>`` subprocess, its log in a file."""

    def __init__(self, part: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        memberflow = str(Path(sys.executable).parent / "memberflow")
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [memberflow, "run", part], env=env, stdout=out, stderr=out, start_new_session=True
            )

    def text(self) -> str:
        """What the process logged so far."""
        return self.log.read_text(errors="replace")

    async def logged(self, line: str, timeout: float = 60.0) -> None:
        """Wait until the log holds ``line``."""
        async with asyncio.timeout(timeout):
            while line not in self.text():
                assert self.process.poll() is None, f"exited early:\n{self.text()}"
                await asyncio.sleep(0.1)

    async def terminate(self) -> int:
        """SIGTERM, then the exit code; fails (and kills) a process still running after
        ``EXIT_TIMEOUT``."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.process.wait, EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"still running {EXIT_TIMEOUT}s after SIGTERM:\n{self.text()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL the process group if it still runs."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextmanager
def launched(part: str, env: dict[str, str], log: Path) -> Iterator[Part]:
    """Run ``part``; killed on the way out if a test left it running."""
    running = Part(part, env, log)
    try:
        yield running
    finally:
        running.kill()


def part_env(
    server_env: dict[str, str], postgres_url: str, settings: Settings, api_port: int = 0
) -> dict[str, str]:
    """The environment of a subprocess running against ``settings``' topics and task queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERFLOW_")}
    env.update(server_env)
    env.update(
        {
            "MEMBERFLOW_DATABASE_URL": postgres_url,
            "MEMBERFLOW_TEMPORAL_TASK_QUEUE": settings.temporal.task_queue,
            "MEMBERFLOW_KAFKA_BRIDGE_GROUP_ID": settings.kafka.bridge_group_id,
            "MEMBERFLOW_SHUTDOWN_GRACE_SECONDS": str(GRACE),
            "MEMBERFLOW_API_PORT": str(api_port or free_port()),
        }
    )
    for name, topic in settings.topics.model_dump().items():
        env[f"MEMBERFLOW_TOPICS__{name.upper()}"] = topic
    return env


def own_settings(base: Settings, postgres_url: str) -> Settings:
    """``base`` with topics, a consumer group and a task queue of this test's own."""
    tag = uuid.uuid4().hex[:8]
    return base.model_copy(
        update={
            "topics": unique_topics("sd"),
            "kafka": base.kafka.model_copy(update={"bridge_group_id": f"sd-{tag}"}),
            "temporal": base.temporal.model_copy(update={"task_queue": f"sd-{tag}"}),
            "database": base.database.model_copy(update={"url": postgres_url}),
        }
    )


@asynccontextmanager
async def table_locked(postgres_url: str, table: str) -> AsyncIterator[asyncpg.Connection]:
    """Hold an exclusive lock on ``table``: whoever touches it waits until the block ends."""
    connection = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


async def exists(client: Client, workflow_id: str) -> bool:
    """Whether a workflow with this id was ever started."""
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return False
    return True


# --- bridge ---------------------------------------------------------------------------------


async def test_bridge_sigterm_commits_what_it_started_and_loses_nothing(
    base_settings: Settings,
    server_env: dict[str, str],
    postgres_url: str,
    temporal_client: Client,
    tmp_path: Path,
) -> None:
    """Records in flight at SIGTERM: started and committed, or neither; a new bridge starts
    the rest, each exactly once."""
    settings = own_settings(base_settings, postgres_url)
    await ensure_topics(settings.kafka, settings.topics.all_topics())
    env = part_env(server_env, postgres_url, settings)
    count = 300
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await producer.start()
    with launched("bridge", env, tmp_path / "bridge-1.log") as first:
        await first.logged("bridge consuming")
        sent = []
        for i in range(count):
            event = contact_event(member_id=str(300000 + i))
            sent.append(
                (
                    event["data"]["request_id"],
                    await producer.send(
                        settings.topics.contact_requests,
                        value=encoded(event),
                        key=str(i).encode(),
                    ),
                )
            )
        await producer.flush()
        records = [(rid, await future) for rid, future in sent]
        # Signal while the bridge is mid-stream: once the first workflows exist.
        async with asyncio.timeout(60):
            sample = [contact_request_workflow_id(rid) for rid, _ in records[:: count // 30]]
            while not [w for w in sample if await exists(temporal_client, w)]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert await first.terminate() == 0, first.text()
    await producer.stop()

    committed = await committed_offsets(settings)
    started = {
        rid for rid, _ in records if await exists(temporal_client, contact_request_workflow_id(rid))
    }
    below_commit = {rid for rid, meta in records if meta.offset < committed.get(meta.partition, 0)}
    # Never half-handled: every started record was committed, every committed one started.
    assert started == below_commit, (
        f"{len(started - below_commit)} started but not committed, "
        f"{len(below_commit - started)} committed but not started\n{first.text()}"
    )
    assert len(started) < count, "SIGTERM came too late to find records in flight"

    with launched("bridge", env, tmp_path / "bridge-2.log") as second:
        await second.logged("bridge consuming")
        async with asyncio.timeout(90):
            for rid, _ in records:
                while not await exists(temporal_client, contact_request_workflow_id(rid)):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
        assert await second.terminate() == 0, second.text()
    # Exactly once: one run per record on this test's task queue (no worker runs them).
    query = f'TaskQueue = "{settings.temporal.task_queue}"'
    async with asyncio.timeout(30):
        while (runs := (await temporal_client.count_workflows(query)).count) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    assert runs == count


async def committed_offsets(settings: Settings) -> dict[int, int]:
    """The bridge group's committed offset per partition of the contact requests topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.kafka.bridge_group_id)
    finally:
        await admin.close()
    return {
        tp.partition: meta.offset
        for tp, meta in offsets.items()
        if tp.topic == settings.topics.contact_requests
    }


# --- worker ---------------------------------------------------------------------------------


async def start_request(client: Client, settings: Settings) -> WorkflowHandle[object, object]:
    """Start a contact request's workflow as the bridge would; its handle."""
    ops = load_ops_config(None)
    accepted = parse_contact(encoded(contact_event()), {d.code for d in ops.departments})
    start = ContactRequestInput(
        event_id=accepted.event.id, request=accepted.data, options=contact_options(ops)
    )
    search_key = member_search_key(settings.temporal)
    await start_contact_request(client, settings.temporal.task_queue, search_key, start)
    return client.get_workflow_handle(contact_request_workflow_id(start.request.request_id))


async def store_request_running(handle: WorkflowHandle[object, object]) -> None:
    """Wait until the workflow's ``store_request`` activity runs on a worker."""
    async with asyncio.timeout(60):
        while True:
            pending = (await handle.describe()).raw_description.pending_activities
            if any(
                a.activity_type.name == "store_request"
                and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                for a in pending
            ):
                return
            await asyncio.sleep(0.1)


async def store_request_attempts(handle: WorkflowHandle[object, object]) -> list[int]:
    """The attempt number of every completed ``store_request`` in the history."""
    history = await handle.fetch_history()
    scheduled = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "store_request"
    }
    started = {
        e.event_id: e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    }
    return [
        started[e.activity_task_completed_event_attributes.started_event_id]
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and e.activity_task_completed_event_attributes.scheduled_event_id in scheduled
    ]


async def stored_rows(postgres_url: str, request_id: str) -> int:
    """How many ``contact_requests`` rows hold this request."""
    connection = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM contact_requests WHERE request_id = $1", request_id
        )
    finally:
        await connection.close()
    return count


async def test_worker_sigterm_lets_a_running_activity_finish_within_the_grace(
    base_settings: Settings,
    server_env: dict[str, str],
    postgres_url: str,
    temporal_client: Client,
    tmp_path: Path,
) -> None:
    """An activity running at SIGTERM that finishes within the grace completes on that worker."""
    settings = own_settings(base_settings, postgres_url)
    await upgrade(postgres_url)
    env = part_env(server_env, postgres_url, settings)
    with launched("worker", env, tmp_path / "worker.log") as worker:
        await worker.logged("worker polling task queue")
        async with table_locked(postgres_url, "contact_requests"):
            handle = await start_request(temporal_client, settings)
            await store_request_running(handle)
            worker.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(GRACE / 4)
        # The lock is gone within the grace: the activity finishes, then the worker exits.
        code = await worker.terminate()
        assert code == 0, worker.text()
    assert await store_request_attempts(handle) == [1], worker.text()


async def test_worker_sigterm_hands_a_stuck_activity_back_after_the_grace(
    base_settings: Settings,
    server_env: dict[str, str],
    postgres_url: str,
    temporal_client: Client,
    tmp_path: Path,
) -> None:
    """An activity still running when the grace ends is cancelled, the worker exits 0, and a
    restarted worker completes it once."""
    settings = own_settings(base_settings, postgres_url)
    await upgrade(postgres_url)
    env = part_env(server_env, postgres_url, settings)
    with launched("worker", env, tmp_path / "worker-1.log") as first:
        await first.logged("worker polling task queue")
        async with table_locked(postgres_url, "contact_requests"):
            handle = await start_request(temporal_client, settings)
            await store_request_running(handle)
            assert await first.terminate() == 0, first.text()
    # The log names what was cut short, so an operator can follow it to its retry.
    cut = f"store_request of {handle.id} (attempt 1)"
    assert f"were cancelled (Temporal retries them on another worker): {cut}" in first.text()
    with launched("worker", env, tmp_path / "worker-2.log") as second:
        async with asyncio.timeout(90):
            while not await store_request_attempts(handle):  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        assert await second.terminate() == 0, second.text()
    assert len(await store_request_attempts(handle)) == 1
    request_id = handle.id.removeprefix("contact-request-")
    assert await stored_rows(postgres_url, request_id) == 1


# --- API ------------------------------------------------------------------------------------


async def api_token(postgres_url: str) -> str:
    """A bearer token of employee SR (created with supervisor MG)."""
    await upgrade(postgres_url)
    engine = create_engine(postgres_url, pool_size=1)
    try:
        sessions = session_factory(engine)
        await add_employee(sessions, "MG", "Maria", "supervisor")
        return await add_employee(sessions, "SR", "Sarah", "employee", "MG")
    finally:
        await engine.dispose()


@dataclass
class WaitingRequest:
    """An API process with one request under way, held on a table lock until ``unlock``."""

    api: Part
    answer: asyncio.Task[httpx.Response]
    unlock: Callable[[], Awaitable[None]]


@asynccontextmanager
async def request_waiting_on_a_lock(
    base_settings: Settings, server_env: dict[str, str], postgres_url: str, log: Path
) -> AsyncIterator[WaitingRequest]:
    """Launch the API and send it a request that waits on a lock of ``contact_requests``."""
    settings = own_settings(base_settings, postgres_url)
    token = await api_token(postgres_url)
    port = free_port()
    env = part_env(server_env, postgres_url, settings, api_port=port)
    headers = {"Authorization": f"Bearer {token}"}
    with launched("api", env, log) as api:
        await wait_for_port(api, port)
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http,
            AsyncExitStack() as lock,
        ):
            await lock.enter_async_context(table_locked(postgres_url, "contact_requests"))
            answer = asyncio.create_task(
                http.get(f"/api/v1/contact-requests/REQ-{uuid.uuid4().hex[:8]}", headers=headers)
            )
            await asyncio.sleep(1)  # the request waits on the lock
            assert not answer.done(), "the request should be waiting on the lock"
            yield WaitingRequest(api, answer, lock.aclose)


async def test_api_sigterm_finishes_a_request_under_way(
    base_settings: Settings,
    server_env: dict[str, str],
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """A request under way at SIGTERM that ends within the grace gets its answer."""
    log = tmp_path / "api.log"
    async with request_waiting_on_a_lock(base_settings, server_env, postgres_url, log) as waiting:
        waiting.api.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(GRACE / 4)
        await waiting.unlock()
        assert (await waiting.answer).status_code == 404
        assert await waiting.api.terminate() == 0, waiting.api.text()


async def test_api_sigterm_exits_after_the_grace_with_a_request_stuck(
    base_settings: Settings,
    server_env: dict[str, str],
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """A request still under way when the grace ends is cancelled and the API exits 0."""
    log = tmp_path / "api.log"
    async with request_waiting_on_a_lock(base_settings, server_env, postgres_url, log) as waiting:
        assert await waiting.api.terminate() == 0, waiting.api.text()
        with suppress(httpx.HTTPError):
            await waiting.answer
    assert "requests still under way after the 4s grace were cancelled" in waiting.api.text()


async def wait_for_port(part: Part, port: int) -> None:
    """Wait until the API accepts connections."""
    async with asyncio.timeout(60):
        while not port_open("127.0.0.1", port):
            assert part.process.poll() is None, f"exited early:\n{part.text()}"
            await asyncio.sleep(0.2)
