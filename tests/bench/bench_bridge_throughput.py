"""Kafka → workflow-started throughput of the bridge, against raw ``start_workflow`` calls.

Run: ``.venv/bin/python -m tests.bench.bench_bridge_throughput --requests 2000``

Both figures come from the same Temporal server in the same run; the ratio is what matters
(the dev server's SQLite store bounds both).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from functools import partial

from faststream.kafka import KafkaMessage
from temporalio.client import Client

from contracts.contacts.messages import ContactSubmitted
from contracts.contacts.workflow import ContactRequestInput, PrivateContactsOptions
from tests.bench.servers import bench_servers
from tests.conftest import unique_topics
from tests.kafka_helpers import contact_event, encoded, produce
from tests.secrets import temporal_settings
from workers.app.bridge import BridgeDeps, acknowledge, build_broker
from workers.contacts.intake import start_contact_request
from workers.platform.kafka_client import ensure_topics
from workers.platform.member_search import MemberSearchKey
from workers.platform.settings import KafkaSettings
from workers.platform.temporal_client import connect

SEARCH_KEY = MemberSearchKey(os.urandom(32))  # the bench never searches by member


async def raw_rate(client: Client, task_queue: str, count: int, concurrency: int) -> float:
    """Workflow starts per second issued straight at Temporal by ``concurrency`` callers."""
    events = [contact_event() for _ in range(count)]
    inputs = [
        ContactRequestInput(event_id=e["id"], request=ContactSubmitted.model_validate(e["data"]))
        for e in events
    ]
    queue: asyncio.Queue[ContactRequestInput] = asyncio.Queue()
    for item in inputs:
        queue.put_nowait(item)

    async def caller() -> None:
        while not queue.empty():
            await start_contact_request(client, task_queue, SEARCH_KEY, queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def bridge_rate(
    client: Client, task_queue: str, kafka: KafkaSettings, count: int
) -> tuple[float, float]:
    """Records per second the bridge turns into started workflows (publish excluded).

    Returns:
        (steady rate from the first to the last record, rate including consumer start-up)
    """
    topics = unique_topics("bench")
    await ensure_topics(kafka, topics.all_topics())
    records: list[tuple[bytes | None, bytes]] = []
    for i in range(count):
        member = str(100000 + i)
        records.append((member.encode(), encoded(contact_event(member_id=member))))
    await produce(kafka.bootstrap_servers, topics.contact_requests, records)

    done = asyncio.Event()
    stamps: list[float] = []

    async def counting_ack(message: KafkaMessage) -> None:
        await acknowledge(message)
        stamps.append(time.perf_counter())
        if len(stamps) >= count:
            done.set()

    deps = BridgeDeps(
        departments={"LOANS", "DEPOSITS", "CARDS", "GENERAL"},
        contact_options=PrivateContactsOptions(),
        start_contact=partial(start_contact_request, client, task_queue, SEARCH_KEY),
        acknowledge=counting_ack,
    )
    settings = kafka.model_copy(update={"bridge_group_id": f"bench-{uuid.uuid4().hex[:6]}"})
    broker = build_broker(settings, topics, lambda: deps)
    started = time.perf_counter()
    await broker.start()
    await done.wait()
    elapsed = time.perf_counter() - started
    await broker.stop()
    return (count - 1) / (stamps[-1] - stamps[0]), count / elapsed


async def main(count: int) -> None:
    """Measure and print both rates and their ratio."""
    with bench_servers() as env:
        kafka = KafkaSettings(bootstrap_servers=env["MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS"])
        temporal = temporal_settings(env)
        client = await connect(temporal)
        task_queue = f"bench-{uuid.uuid4().hex[:6]}"  # no worker: this measures starts only
        workers = kafka.bridge_max_workers
        await raw_rate(client, task_queue, 200, workers)  # warm-up
        # Raw before and after the bridge: the server slows as started workflows pile up, so
        # the bridge is compared with the mean of the two measurements around it.
        raw_before = await raw_rate(client, task_queue, count, workers)
        bridge, with_startup = await bridge_rate(client, task_queue, kafka, count)
        raw_after = await raw_rate(client, task_queue, count, workers)
        raw_wide = await raw_rate(client, task_queue, count, 32)
        raw = (raw_before + raw_after) / 2
        print(
            f"requests: {count}, bridge consumers: {workers}, partitions: {kafka.topic_partitions}"
        )
        print(f"raw start_workflow, {workers} callers, before: {raw_before:8.1f} starts/s")
        print(f"raw start_workflow, {workers} callers, after:  {raw_after:8.1f} starts/s")
        print(f"raw start_workflow, 32 callers, last:   {raw_wide:8.1f} starts/s")
        print(f"bridge, Kafka -> started + committed:   {bridge:8.1f} records/s (steady)")
        print(f"bridge, including consumer start-up:    {with_startup:8.1f} records/s")
        print(f"ratio bridge / raw ({workers} callers, mean): {bridge / raw:.2f}  (goal >= 0.8)")
    os._exit(0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
