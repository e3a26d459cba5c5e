"""Reading records back from a topic (the demo, ``memberflow ops`` and tests use it)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from workers.platform.kafka_client import connection_options
from workers.platform.settings import KafkaSettings


@dataclass
class Record:
    """A record read back from a topic."""

    key: bytes | None
    value: bytes
    headers: dict[str, str]
    partition: int
    offset: int

    def json(self) -> dict[str, Any]:
        """The value as JSON."""
        result: dict[str, Any] = json.loads(self.value)
        return result


async def read_topic(
    settings: KafkaSettings, topic: str, count: int, timeout: float = 30.0
) -> list[Record]:
    """Read up to ``count`` records from the start of ``topic`` within ``timeout`` seconds."""
    consumer = AIOKafkaConsumer(
        topic,
        **connection_options(settings),
        group_id=f"memberflow-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Record] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(records) < count and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for messages in batch.values():
                for m in messages:
                    records.append(
                        Record(
                            key=m.key,
                            value=m.value or b"",
                            headers={k: v.decode(errors="replace") for k, v in m.headers},
                            partition=m.partition,
                            offset=m.offset,
                        )
                    )
    finally:
        await consumer.stop()
    return records


async def topic_partitions(settings: KafkaSettings, topic: str) -> list[int]:
    """Partition numbers of a topic (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(**connection_options(settings))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        p["partition"] for t in described if t.get("error_code", 0) == 0 for p in t["partitions"]
    )


async def topic_depth(settings: KafkaSettings, topic: str) -> int:
    """Records currently held by a topic (end minus beginning offsets, all partitions)."""
    tps = [TopicPartition(topic, p) for p in await topic_partitions(settings, topic)]
    if not tps:
        return 0
    consumer = AIOKafkaConsumer(**connection_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        # Stopping a group-less consumer before its background task first ran re-raises that
        # task's cancellation (aiokafka 0.14); one loop turn lets it start.
        await asyncio.sleep(0.01)
        await consumer.stop()
