"""The walking skeleton on real servers: Kafka record → bridge → workflow → PostgreSQL row."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from functools import partial
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from faststream.kafka import KafkaMessage
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from contracts.contacts.workflow import ContactRequestInput
from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app
from tests.integration.test_assignments import assignment_event
from tests.kafka_helpers import consume, contact_event, encoded, produce
from workers.app.bridge import build_broker, consume_until
from workers.app.bridge_health import BridgeHealth, StopReason
from workers.app.runtime import build_bridge_deps
from workers.assignments.intake import make_assignment_starter
from workers.platform import employees
from workers.platform.database import Sessions, create_engine, session_factory
from workers.platform.member_search import member_search_key
from workers.platform.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll an async predicate until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def rows_for(database_url: str, request_id: str) -> int:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM contact_requests WHERE request_id = $1", request_id
        )
        return count
    finally:
        await connection.close()


async def workflow_runs(client: Client, request_id: str) -> list[Any]:
    query = f'WorkflowId = "contact-request-{request_id}"'
    return [wf async for wf in client.list_workflows(query)]


async def test_happy_path_starts_workflow_with_search_attributes_and_stores_row(
    app: RunningApp, temporal_client: Client
) -> None:
    event = contact_event(member_id="424242", department="LOANS")
    request_id = event["data"]["request_id"]
    await produce(app.bootstrap, app.topics.contact_requests, [(b"424242", encoded(event))])

    runs = await wait_for(
        lambda: workflow_runs(temporal_client, request_id), what="workflow listed"
    )
    assert len(runs) == 1
    attributes = {pair.key.name: pair.value for pair in runs[0].typed_search_attributes}
    # The member by keyed hash only: the number itself is in no search attribute.
    assert attributes["MemberKey"] == member_search_key(app.services.settings.temporal).of("424242")
    assert "MemberId" not in attributes
    assert all("424242" not in str(value) for value in attributes.values())
    assert attributes["Department"] == "LOANS"
    assert attributes["RequestState"] == "queued"
    assert runs[0].status == WorkflowExecutionStatus.RUNNING

    url = app.settings.database.url
    await wait_for(lambda: rows_for(url, request_id), what="request row")


async def test_same_record_twice_gives_one_workflow_and_one_row(
    app: RunningApp, temporal_client: Client
) -> None:
    event = encoded(contact_event(member_id="5150"))
    request_id = contact_request_id(event)
    await produce(app.bootstrap, app.topics.contact_requests, [(b"5150", event), (b"5150", event)])
    later = contact_event(member_id="5150")
    await produce(app.bootstrap, app.topics.contact_requests, [(b"5150", encoded(later))])

    # The record behind the duplicates being processed proves the duplicates were consumed.
    await wait_for(
        lambda: workflow_runs(temporal_client, later["data"]["request_id"]), what="later record"
    )
    assert len(await workflow_runs(temporal_client, request_id)) == 1
    await wait_for(lambda: rows_for(app.settings.database.url, request_id), what="row")
    assert await rows_for(app.settings.database.url, request_id) == 1


def contact_request_id(value: bytes) -> str:
    import json

    request_id: str = json.loads(value)["data"]["request_id"]
    return request_id


async def test_bad_records_are_dead_lettered_and_the_rest_still_flows(
    app: RunningApp, temporal_client: Client
) -> None:
    not_json = b"{this is not json"
    invalid = encoded(contact_event(member_id="not-a-number"))
    good = contact_event(member_id="777")
    await produce(
        app.bootstrap,
        app.topics.contact_requests,
        [(b"k1", not_json), (b"k1", invalid), (b"k1", encoded(good))],
    )

    await wait_for(lambda: workflow_runs(temporal_client, good["data"]["request_id"]), what="good")
    dead = await consume(app.bootstrap, app.topics.dlq(app.topics.contact_requests), 2)
    assert [record.value for record in dead] == [not_json, invalid]
    assert all(record.key == b"k1" for record in dead)
    assert "not JSON" in dead[0].headers["x-error"]
    assert "data.member_id" in dead[1].headers["x-error"]
    for record in dead:
        assert record.headers["x-original-topic"] == app.topics.contact_requests
        assert record.headers["x-original-partition"].isdigit()
        assert record.headers["x-original-offset"].isdigit()


async def committed_offset(bootstrap: str, group: str, topic: str, partition: int) -> int | None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        result: int | None = await consumer.committed(TopicPartition(topic, partition))
        return result
    finally:
        await consumer.stop()


async def test_offset_is_committed_only_after_temporal_accepted_the_start(
    base_settings: Settings,
    postgres_url: str,
    temporal_client: Client,
) -> None:
    group = f"bridge-{uuid.uuid4().hex[:8]}"
    settings = base_settings.model_copy(
        update={"kafka": base_settings.kafka.model_copy(update={"bridge_group_id": group})}
    )
    async with running_app(settings, postgres_url=postgres_url, parts=("worker",)) as app:
        topic = app.topics.contact_requests
        first = contact_event(member_id="31337")
        first_id = first["data"]["request_id"]
        await produce(app.bootstrap, topic, [(b"31337", encoded(first))])

        deliveries: Counter[str] = Counter()
        real = build_bridge_deps(app.services)

        async def counting_start(start: ContactRequestInput) -> object:
            deliveries[start.request.request_id] += 1
            return await real.start_contact(start)

        started = asyncio.Event()

        async def crash_before_commit(message: KafkaMessage) -> None:
            # The bridge "dies" here: Temporal accepted the start, the offset is not committed.
            started.set()

        crashing = dataclasses.replace(
            real, start_contact=counting_start, acknowledge=crash_before_commit
        )
        broker = build_broker(app.settings.kafka, app.topics, lambda: crashing)
        await broker.start()
        await asyncio.wait_for(started.wait(), 60)
        await broker.stop()

        assert len(await workflow_runs(temporal_client, first_id)) == 1
        partition = (await consume(app.bootstrap, topic, 1))[0].partition
        assert await committed_offset(app.bootstrap, group, topic, partition) is None

        # A new bridge in the same group reads the uncommitted record again, and commits.
        committing = dataclasses.replace(real, start_contact=counting_start)
        second = contact_event(member_id="31337")
        await produce(app.bootstrap, topic, [(b"31337", encoded(second))])
        broker = build_broker(app.settings.kafka, app.topics, lambda: committing)
        await broker.start()
        try:
            await wait_for(
                lambda: workflow_runs(temporal_client, second["data"]["request_id"]), what="second"
            )
            await wait_for(
                lambda: committed_offset(app.bootstrap, group, topic, partition),
                what="commit past both records",
            )
        finally:
            await broker.stop()
        assert deliveries[first_id] == 2
        assert len(await workflow_runs(temporal_client, first_id)) == 1
        assert await committed_offset(app.bootstrap, group, topic, partition) == 2


def bridge_settings(
    base: Settings, max_workers: int = 8, task_queue: str | None = None
) -> Settings:
    """Settings with a consumer group of their own (and optionally another task queue)."""
    group = f"bridge-{uuid.uuid4().hex[:8]}"
    kafka = base.kafka.model_copy(
        update={"bridge_group_id": group, "bridge_max_workers": max_workers}
    )
    queue = task_queue or base.temporal.task_queue
    return base.model_copy(
        update={"kafka": kafka, "temporal": base.temporal.model_copy(update={"task_queue": queue})}
    )


async def produce_to(bootstrap: str, topic: str, partition: int, key: bytes, value: bytes) -> None:
    """Send one record to a chosen partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, partition=partition)
    finally:
        await producer.stop()


async def committed_is(app: RunningApp, group: str, topic: str, partition: int, at: int) -> bool:
    """Whether ``group`` committed offset ``at`` on the partition."""
    return await committed_offset(app.bootstrap, group, topic, partition) == at


async def at_least(counter: Counter[str], key: str, count: int) -> bool:
    """Whether ``counter[key]`` reached ``count`` (a ``wait_for`` predicate)."""
    return counter[key] >= count


async def test_a_failing_record_is_not_passed_over_when_another_partition_commits(
    base_settings: Settings, postgres_url: str, temporal_client: Client
) -> None:
    # One consumer owns every partition: committing its whole position would cover partition 0.
    settings = bridge_settings(base_settings, max_workers=1)
    async with running_app(settings, postgres_url=postgres_url, parts=("worker",)) as app:
        topic, group = app.topics.contact_requests, settings.kafka.bridge_group_id
        stuck, later = contact_event(member_id="606"), contact_event(member_id="707")
        stuck_id, later_id = stuck["data"]["request_id"], later["data"]["request_id"]
        real = build_bridge_deps(app.services)
        failing, attempts = {"on": True}, Counter[str]()

        async def flaky_start(start: ContactRequestInput) -> object:
            attempts[start.request.request_id] += 1
            if failing["on"] and start.request.request_id == stuck_id:
                raise ConnectionResetError("connection reset by peer")
            return await real.start_contact(start)

        flaky = dataclasses.replace(real, start_contact=flaky_start)
        broker = build_broker(app.settings.kafka, app.topics, lambda: flaky)
        await produce_to(app.bootstrap, topic, 0, b"606", encoded(stuck))
        await broker.start()
        try:
            await wait_for(partial(at_least, attempts, stuck_id, 1), what="first attempt")
            await produce_to(app.bootstrap, topic, 1, b"707", encoded(later))
            await wait_for(partial(workflow_runs, temporal_client, later_id), what="later record")
            await wait_for(partial(committed_is, app, group, topic, 1, 1), what="partition 1")
            # Partition 0 stays at the failing record: nothing was committed there.
            assert await committed_offset(app.bootstrap, group, topic, 0) is None
            assert await workflow_runs(temporal_client, stuck_id) == []

            failing["on"] = False  # the fault clears: the record is read again and started
            await wait_for(partial(workflow_runs, temporal_client, stuck_id), what="stuck record")
            await wait_for(partial(committed_is, app, group, topic, 0, 1), what="partition 0")
        finally:
            await broker.stop()
        assert attempts[stuck_id] >= 2
        assert len(await workflow_runs(temporal_client, stuck_id)) == 1


async def test_unparseable_records_are_dead_lettered_and_the_records_behind_them_start(
    app: RunningApp, temporal_client: Client
) -> None:
    deep = b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    huge = b'{"specversion": "1.0", "id": ' + b"7" * 5_000 + b"}"
    first, second = contact_event(member_id="4711"), contact_event(member_id="4711")
    values = [deep, encoded(first), huge, encoded(second)]
    await produce(app.bootstrap, app.topics.contact_requests, [(b"4711", v) for v in values])

    # The valid records behind each unparseable one are started.
    for event in (first, second):
        request_id = event["data"]["request_id"]
        await wait_for(partial(workflow_runs, temporal_client, request_id), what=request_id)
    dead = await consume(app.bootstrap, app.topics.dlq(app.topics.contact_requests), 2)
    assert [record.value for record in dead] == [deep, huge]
    assert "nested too deeply" in dead[0].headers["x-error"]
    assert "more digits" in dead[1].headers["x-error"]
    assert all(record.key == b"4711" for record in dead)


async def test_assignment_is_retried_while_the_database_is_unreachable(
    base_settings: Settings, postgres_url: str, temporal_client: Client
) -> None:
    # No worker polls this queue: the start is what counts, and running the assignment would
    # write a follow-up that other tests' employee lists would see.
    settings = bridge_settings(base_settings, task_queue=f"idle-{uuid.uuid4().hex[:8]}")
    # Nothing listens on this port: a real connection error from the real employee lookup.
    unreachable = create_engine(f"postgresql+asyncpg://memberflow@127.0.0.1:{free_port()}/x")
    async with running_app(settings, postgres_url=postgres_url, parts=()) as app:
        topic = app.topics.followup_assignments
        group = f"{settings.kafka.bridge_group_id}.assignments"
        down, lookups = {"on": True}, Counter[str]()

        async def lookup(sessions: Sessions, employee_id: str) -> employees.EmployeeRecord | None:
            lookups["down" if down["on"] else "up"] += 1
            factory = session_factory(unreachable) if down["on"] else sessions
            return await employees.get_employee(factory, employee_id)

        svc = app.services
        queue, live = svc.settings.temporal.task_queue, svc.session_factory
        search_key = member_search_key(svc.settings.temporal)
        starter = make_assignment_starter(
            svc.temporal, queue, svc.ops, live, search_key, find_employee=lookup
        )
        deps = dataclasses.replace(build_bridge_deps(svc), start_assignment=starter)
        event = assignment_event(member_id="919191")
        query = f'WorkflowId = "followup-assignment-{event["data"]["assignment_id"]}"'
        await produce_to(app.bootstrap, topic, 0, b"919191", encoded(event))
        broker = build_broker(app.settings.kafka, app.topics, lambda: deps)
        await broker.start()
        try:
            await wait_for(partial(at_least, lookups, "down", 2), what="read again while down")
            down["on"] = False

            async def started() -> list[Any]:
                return [wf async for wf in temporal_client.list_workflows(query)]

            await wait_for(started, what="assignment started once the database is back")
            await wait_for(partial(committed_is, app, group, topic, 0, 1), what="committed")
        finally:
            await broker.stop()
            await unreachable.dispose()
        assert lookups["up"] == 1
        assert await consume(app.bootstrap, app.topics.dlq(topic), 1, timeout=2) == []


async def test_a_permanent_refusal_stops_the_bridge_without_commit_or_dead_letter(
    base_settings: Settings, postgres_url: str, temporal_client: Client
) -> None:
    settings = bridge_settings(base_settings)
    async with running_app(settings, postgres_url=postgres_url, parts=("worker",)) as app:
        topic, group = app.topics.contact_requests, settings.kafka.bridge_group_id
        refused, behind = contact_event(member_id="8008"), contact_event(member_id="8008")
        real = build_bridge_deps(app.services)

        async def unauthorized(start: ContactRequestInput) -> object:
            raise RPCError("Request unauthorized.", RPCStatusCode.PERMISSION_DENIED, b"")

        refusing = dataclasses.replace(real, start_contact=unauthorized)
        health = BridgeHealth()
        broker = build_broker(app.settings.kafka, app.topics, lambda: refusing, health=health)
        for event in (refused, behind):
            await produce_to(app.bootstrap, topic, 0, b"8008", encoded(event))
        await broker.start()
        stop = asyncio.Event()
        consuming = asyncio.create_task(consume_until(broker, health, stop))
        try:
            reason = await asyncio.wait_for(health.wait_stopped(), 60)
            assert reason == StopReason(topic, 0, 0, "RPCError PERMISSION_DENIED")

            async def broker_stopped() -> bool:
                return not broker.running

            await wait_for(broker_stopped, what="the bridge to stop consuming")
            assert not consuming.done()  # the process carries on, health red
            assert await committed_offset(app.bootstrap, group, topic, 0) is None
            assert await consume(app.bootstrap, app.topics.dlq(topic), 1, timeout=2) == []
        finally:
            stop.set()
            await consuming

        # Once the cause is fixed, a restarted bridge starts both records: none was skipped.
        broker = build_broker(app.settings.kafka, app.topics, lambda: real)
        await broker.start()
        try:
            for event in (refused, behind):
                request_id = event["data"]["request_id"]
                await wait_for(partial(workflow_runs, temporal_client, request_id), what=request_id)
            await wait_for(partial(committed_is, app, group, topic, 0, 2), what="past both")
        finally:
            await broker.stop()
