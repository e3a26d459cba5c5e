"""Looking at the system from outside: Kafka topics and group offsets, PostgreSQL, Temporal.

Every read opens its own connection and closes it, because any server may just have been
restarted under the harness; a read that fails is retried by the caller's next poll.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from temporalio.client import Client, WorkflowExecutionStatus

from workers.platform.kafka_reader import topic_partitions
from workers.platform.settings import KafkaSettings


@dataclass(frozen=True)
class TailRecord:
    """One record read back from a topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    def event(self) -> dict[str, Any]:
        """The value as a CloudEvent (an empty dict when it is not JSON)."""
        try:
            parsed = json.loads(self.value or b"")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


_PARTITIONS: dict[tuple[str, str], list[TopicPartition]] = {}


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    """A topic's partitions; remembered, since the harness never changes them."""
    known = _PARTITIONS.get((bootstrap, topic))
    if known:
        return known
    numbers = await topic_partitions(KafkaSettings(bootstrap_servers=bootstrap), topic)
    found = [TopicPartition(topic, p) for p in numbers]
    if found:
        _PARTITIONS[(bootstrap, topic)] = found
    return found


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    """The next offset of every partition of ``topics``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [tp for topic in topics for tp in await _partitions(bootstrap, topic)]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


class TopicTail:
    """The records of one topic from a starting point on, read a little more at every call."""

    def __init__(self, bootstrap: str, topic: str, start: dict[TopicPartition, int]) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._next = {tp.partition: offset for tp, offset in start.items() if tp.topic == topic}
        self.records: list[TailRecord] = []

    async def refresh(self) -> list[TailRecord]:
        """Read up to the current end of every partition; return everything read so far."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = await _partitions(self.bootstrap, self.topic)
            ends = await consumer.end_offsets(tps)
            todo = [tp for tp in tps if self._next.get(tp.partition, 0) < ends[tp]]
            if not todo:
                return self.records
            consumer.assign(todo)
            for tp in todo:
                consumer.seek(tp, self._next.get(tp.partition, 0))
            while any(self._next.get(tp.partition, 0) < ends[tp] for tp in todo):
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 15)
                for tp, messages in batch.items():
                    for m in messages:
                        headers = {k: v.decode(errors="replace") for k, v in m.headers}
                        self.records.append(
                            TailRecord(tp.partition, m.offset, m.key, m.value, headers)
                        )
                        self._next[tp.partition] = m.offset + 1
            return self.records
        finally:
            await consumer.stop()


async def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """The consumer group's committed offsets (a partition never committed is absent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    finally:
        await admin.close()


@dataclass
class StoreView:
    """What PostgreSQL holds for one round's members and requests."""

    stored_requests: set[str] = field(default_factory=set)
    # member id → (message id, request id) of each secure message
    messages: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # member id → (tracker type, idempotency key) of each conversation
    conversations: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # member id → (follow-up id, assignee) of each follow-up
    follow_ups: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


async def read_store(database_url: str, request_ids: list[str], members: list[str]) -> StoreView:
    """Stored requests, secure messages, conversations and follow-ups of these members."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""), timeout=10)
    try:
        view = StoreView()
        rows = await connection.fetch(
            "SELECT request_id FROM contact_requests WHERE request_id = ANY($1::text[])",
            request_ids,
        )
        view.stored_requests = {row["request_id"] for row in rows}
        messages: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in await connection.fetch(
            "SELECT member_id, message_id, request_id FROM secure_messages "
            "WHERE member_id = ANY($1::text[])",
            members,
        ):
            messages[row["member_id"]].append((row["message_id"], row["request_id"]))
        conversations: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in await connection.fetch(
            "SELECT t.member_id, t.tracker_type, c.idempotency_key FROM conversations c "
            "JOIN trackers t ON t.id = c.tracker_id WHERE t.member_id = ANY($1::text[])",
            members,
        ):
            conversations[row["member_id"]].append((row["tracker_type"], row["idempotency_key"]))
        follow_ups: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in await connection.fetch(
            "SELECT member_id, id, assignee_employee_id FROM follow_ups "
            "WHERE member_id = ANY($1::text[])",
            members,
        ):
            follow_ups[row["member_id"]].append((row["id"], row["assignee_employee_id"]))
        view.messages, view.conversations, view.follow_ups = messages, conversations, follow_ups
        return view
    finally:
        await connection.close()


@dataclass(frozen=True)
class Execution:
    """One workflow execution as Temporal visibility lists it."""

    workflow_id: str
    run_id: str
    workflow_type: str
    running: bool


async def executions_since(address: str, since: datetime) -> dict[str, list[Execution]]:
    """Every execution started at or after ``since``, by workflow id (all runs)."""
    client = await Client.connect(address)
    found: dict[str, list[Execution]] = defaultdict(list)
    query = f"StartTime >= '{since.isoformat()}'"
    async for wf in client.list_workflows(query, page_size=1000):
        found[wf.id].append(
            Execution(
                wf.id,
                wf.run_id,
                wf.workflow_type,
                wf.status == WorkflowExecutionStatus.RUNNING,
            )
        )
    return found


async def stuck_executions(
    address: str, running: list[Execution], max_attempts: int
) -> list[tuple[Execution, str, int]]:
    """Running executions with an activity or workflow task past ``max_attempts``.

    Returns:
        (execution, what is failing, its attempt) for each one; activity types only, never
        the failure text (it may quote member data).
    """
    client = await Client.connect(address)
    stuck: list[tuple[Execution, str, int]] = []
    for execution in running:
        handle = client.get_workflow_handle(execution.workflow_id, run_id=execution.run_id)
        raw = (await handle.describe()).raw_description
        for activity in raw.pending_activities:
            if activity.attempt > max_attempts:
                stuck.append(
                    (execution, f"activity {activity.activity_type.name}", activity.attempt)
                )
        task = raw.pending_workflow_task
        if raw.HasField("pending_workflow_task") and task.attempt > max_attempts:
            stuck.append((execution, "workflow task", task.attempt))
    return stuck
