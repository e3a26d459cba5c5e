"""Latency of the Private Contacts path on real servers, over many requests.

Run: ``.venv/bin/python -m tests.bench.bench_desk_latency --requests 500``

Measures, for each request:
- Kafka publish → the request is listed by the API (``GET /contact-requests/{id}`` answers 200);
- the reply call (with a follow-up) → the assignee's notification is on Kafka.
Bridge, worker and API run as ``memberflow run all`` in their own process, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from deploy.processes import free_port, port_open, stop_process_group
from tests.bench.servers import bench_servers, percentile
from tests.kafka_helpers import contact_event, encoded
from workers.app.demo.desk_client import DeskClient
from workers.platform.database import create_engine, session_factory
from workers.platform.employees import add_employee
from workers.platform.kafka_client import ensure_topics
from workers.platform.migrate import upgrade
from workers.platform.settings import Settings


async def listed_latencies(
    settings: Settings, desk: DeskClient, count: int, rate: float
) -> tuple[list[float], list[str]]:
    """Publish ``count`` requests at ``rate`` per second; time each until the API lists it.

    One poller reads the queue every 20 ms (the figures' resolution), so the measurement adds
    a steady, small load rather than one poll loop per request.
    """
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers, enable_idempotence=True
    )
    await producer.start()
    published: dict[str, float] = {}
    seen: dict[str, float] = {}

    async def poll() -> None:
        while True:
            for item in await desk.queue():
                seen.setdefault(item["request_id"], time.perf_counter())
            await asyncio.sleep(0.02)

    poller = asyncio.create_task(poll())
    for i in range(count):
        member = str(200000 + i)
        event = contact_event(member_id=member)
        published[event["data"]["request_id"]] = time.perf_counter()
        await producer.send(
            settings.topics.contact_requests, value=encoded(event), key=member.encode()
        )
        await asyncio.sleep(1 / rate)
    await producer.flush()
    deadline = time.monotonic() + 120
    while len(published.keys() & seen.keys()) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    poller.cancel()
    await producer.stop()
    ids = [r for r in published if r in seen]
    return [seen[r] - published[r] for r in ids], ids


async def notification_latencies(
    settings: Settings, sarah: DeskClient, request_ids: list[str], concurrency: int
) -> list[float]:
    """Claim and reply with a follow-up for JD; time each reply call to JD's notification."""
    consumer = AIOKafkaConsumer(
        settings.topics.employee_notifications,
        bootstrap_servers=settings.kafka.bootstrap_servers,
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="latest",
    )
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.1)
    arrived: dict[str, float] = {}
    sent: dict[str, float] = {}

    async def listen() -> None:
        import json

        async for record in consumer:
            data = json.loads(record.value)["data"]
            arrived.setdefault(data["follow_up_id"], time.perf_counter())

    listener = asyncio.create_task(listen())
    semaphore = asyncio.Semaphore(concurrency)
    due = (date.today() + timedelta(days=3)).isoformat()

    async def one(request_id: str) -> None:
        async with semaphore:
            await sarah.claim(request_id)
            started = time.perf_counter()
            answer = await sarah.reply(
                request_id,
                {"body": "Thanks", "follow_up": {"assignee_employee_id": "JD", "due_on": due}},
            )
            sent[answer["follow_up_id"]] = started

    await asyncio.gather(*(one(r) for r in request_ids))
    deadline = time.monotonic() + 60
    while len(arrived.keys() & sent.keys()) < len(sent) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    listener.cancel()
    await consumer.stop()
    return [arrived[f] - sent[f] for f in sent if f in arrived]


def report(name: str, values: list[float]) -> None:
    """p50, p99 and max in milliseconds."""
    print(
        f"{name}: n={len(values)} p50={percentile(values, 0.5) * 1000:.0f} ms "
        f"p99={percentile(values, 0.99) * 1000:.0f} ms max={max(values) * 1000:.0f} ms"
    )


async def measure(env: dict[str, str], count: int, rate: float, concurrency: int) -> None:
    """Start ``memberflow run all`` against the servers and measure both paths."""
    os.environ.update(env)
    port = free_port()
    os.environ["MEMBERFLOW_API_PORT"] = str(port)
    settings = Settings()
    await upgrade(settings.database.url)
    await ensure_topics(settings.kafka, settings.topics.all_topics())
    engine = create_engine(settings.database.url, pool_size=2)
    sessions = session_factory(engine)
    # Every department: the benchmark's requests go to any of them (docs/security.md).
    everywhere = ["LOANS", "DEPOSITS", "CARDS", "GENERAL"]
    await add_employee(sessions, "MG", "Maria", "supervisor", departments=everywhere)
    token = await add_employee(sessions, "SR", "Sarah", "employee", "MG", departments=everywhere)
    await add_employee(sessions, "JD", "John", "employee", "MG", departments=everywhere)
    await engine.dispose()
    memberflow = str(Path(sys.executable).parent / "memberflow")
    log = open(os.environ.get("BENCH_LOG", os.devnull), "wb")  # noqa: SIM115
    app = subprocess.Popen(
        [memberflow, "run", "all"],
        env=os.environ.copy(),
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        while not port_open("127.0.0.1", port):
            await asyncio.sleep(0.2)
        desk = DeskClient(f"http://127.0.0.1:{port}", token)
        _, warm_ids = await listed_latencies(settings, desk, 20, rate)
        await notification_latencies(settings, desk, warm_ids, concurrency)
        listed, ids = await listed_latencies(settings, desk, count, rate)
        notified = await notification_latencies(settings, desk, ids, concurrency)
        await desk.close()
        print(f"requests: {count} published at {rate:.0f}/s; replies {concurrency} at a time")
        report("Kafka publish -> listed by the API", listed)
        report("reply call -> assignee notification on Kafka", notified)
    finally:
        stop_process_group(app.pid)


def main() -> None:
    """Parse arguments, start servers, measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0, help="requests published per second")
    parser.add_argument("--concurrency", type=int, default=4, help="replies in flight")
    args = parser.parse_args()
    with bench_servers() as env:
        asyncio.run(measure(env, args.requests, args.rate, args.concurrency))
    os._exit(0)


if __name__ == "__main__":
    main()
