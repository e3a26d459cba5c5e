"""The walking skeleton on real servers: Kafka record → bridge → workflow → PostgreSQL row."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from faststream.kafka import KafkaMessage
from temporalio.client import Client, WorkflowExecutionStatus

from contracts.contacts.workflow import ContactRequestInput
from tests.integration.conftest import RunningApp, running_app
from tests.kafka_helpers import consume, contact_event, encoded, produce
from workers.app.bridge import build_broker
from workers.app.runtime import build_bridge_deps
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
    assert attributes["MemberId"] == "424242"
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
