"""The bridge's real subscribers in memory (FastStream's ``TestKafkaBroker``): no servers.

``TestKafkaBroker`` hands each published record straight to the subscriber, whose consumer is a
no-op: these tests show what the handler decides (start, dead letter, acknowledge or nack) but
not what Kafka then does. That a commit moves the group's offset, that a nack's seek delivers
the record again and that nothing is committed before Temporal accepted the start on a real
consumer is proven on real servers by tests/integration/test_bridge.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord
from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker
from faststream.message import AckStatus, StreamMessage
from prometheus_client import CollectorRegistry
from temporalio.service import RPCError, RPCStatusCode

from contracts.contacts.messages import ContactSubmitted
from contracts.contacts.workflow import ContactRequestInput, PrivateContactsOptions
from contracts.platform.topics import Topics
from tests.kafka_helpers import contact_event, encoded
from workers.app.bridge import BridgeDeps, build_broker, raw_body
from workers.app.bridge_health import HEALTH_METRIC, BridgeHealth, StopReason
from workers.platform.intake import Rejected
from workers.platform.settings import KafkaSettings
from workers.platform.temporal_retries import TemporalUnavailable

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]

TOPICS = Topics()
# Not the defaults, so a start carrying them proves the options came from the deps.
OPTIONS = PrivateContactsOptions(replies_allowed=False, claim_timeout_seconds=60)


@dataclass
class DeadLetter:
    """A record the bridge published to a ``.dlq`` topic."""

    value: bytes
    key: bytes | None
    headers: dict[str, Any]


@dataclass
class FakeBridge:
    """Injected fakes that log, in order, what the handlers did."""

    # ("start", request_id) / ("assignment", value) / ("dead-letter", topic) / ("ack", topic)
    # / ("back-off", seconds)
    events: list[tuple[str, object]] = field(default_factory=list)
    starts: list[ContactRequestInput] = field(default_factory=list)
    dead_letters: dict[str, list[DeadLetter]] = field(default_factory=dict)
    # Every message the subscribers received, to read its ack status afterwards.
    received: list[StreamMessage[Any]] = field(default_factory=list)
    start_error: Exception | None = None
    assignment_error: Exception | None = None
    ack_error: Exception | None = None
    handle_assignments: bool = True
    health: BridgeHealth = field(default_factory=BridgeHealth)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    async def start_contact(self, start: ContactRequestInput) -> bool:
        self.starts.append(start)
        self.events.append(("start", start.request.request_id))
        if self.start_error is not None:
            raise self.start_error
        return True

    async def start_assignment(self, value: bytes | None) -> None:
        self.events.append(("assignment", value))
        if self.assignment_error is not None:
            raise self.assignment_error

    async def acknowledge(self, message: KafkaMessage) -> None:
        record: ConsumerRecord[bytes, bytes] = message.raw_message
        self.events.append(("ack", record.topic))
        if self.ack_error is not None:
            raise self.ack_error

    async def back_off(self, seconds: float) -> None:
        self.events.append(("back-off", seconds))

    def deps(self) -> BridgeDeps:
        return BridgeDeps(
            departments={"LOANS", "DEPOSITS"},
            contact_options=OPTIONS,
            start_contact=self.start_contact,
            acknowledge=self.acknowledge,
            start_assignment=self.start_assignment if self.handle_assignments else None,
            back_off=self.back_off,
        )

    def healthy_gauge(self) -> float | None:
        return self.registry.get_sample_value(HEALTH_METRIC)


def remembering(into: list[StreamMessage[Any]]) -> type[BaseMiddleware]:
    """A middleware keeping each consumed message, whose ``committed`` says ack or nack."""

    class Remember(BaseMiddleware):
        async def consume_scope(
            self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
        ) -> Any:
            into.append(msg)
            return await call_next(msg)

    return Remember


def with_dead_letter_readers(broker: KafkaBroker, fake: FakeBridge) -> None:
    """Subscribe to both dead-letter topics, logging what arrives."""
    for inbound in TOPICS.inbound():
        dlq = TOPICS.dlq(inbound)
        fake.dead_letters[dlq] = []

        def reader(dlq: str) -> Callable[[bytes, KafkaMessage], Awaitable[None]]:
            async def on_dead_letter(body: bytes, message: KafkaMessage) -> None:
                record: ConsumerRecord[bytes, bytes] = message.raw_message
                fake.events.append(("dead-letter", dlq))
                fake.dead_letters[dlq].append(DeadLetter(body, record.key, message.headers))

            return on_dead_letter

        # raw_body: keep the bytes (the default decoder would parse JSON).
        broker.subscriber(dlq, decoder=raw_body)(reader(dlq))


@pytest.fixture
def fake() -> FakeBridge:
    return FakeBridge()


@pytest_asyncio.fixture
async def bridge(fake: FakeBridge) -> AsyncIterator[KafkaBroker]:
    """The real ``build_broker`` subscribers in memory, reading ``fake``'s deps."""
    broker = build_broker(KafkaSettings(), TOPICS, fake.deps, fake.registry, fake.health)
    broker.add_middleware(remembering(fake.received))
    with_dead_letter_readers(broker, fake)
    async with TestKafkaBroker(broker) as test_broker:
        yield test_broker


def bridge_messages(fake: FakeBridge) -> list[StreamMessage[Any]]:
    """Messages the bridge's own subscribers received (not the test's dead-letter readers)."""
    inbound = set(TOPICS.inbound())
    return [m for m in fake.received if m.raw_message.topic in inbound]


async def test_valid_contact_request_is_started_once_then_acknowledged(
    bridge: KafkaBroker, fake: FakeBridge
) -> None:
    event = contact_event(member_id="424242", department="DEPOSITS")
    await bridge.publish(encoded(event), topic=TOPICS.contact_requests, key=b"424242")

    assert fake.starts == [
        ContactRequestInput(
            event_id=event["id"],
            request=ContactSubmitted.model_validate(event["data"]),
            options=OPTIONS,
        )
    ]
    # Acknowledged only after the start returned; nothing dead-lettered.
    assert fake.events == [
        ("start", event["data"]["request_id"]),
        ("ack", TOPICS.contact_requests),
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{this is not json", "not JSON"),
        (encoded(contact_event(member_id="not-a-number")), "data.member_id"),
        (encoded(contact_event(department="MORTGAGES")), "department 'MORTGAGES'"),
        # json raises RecursionError on nesting this deep, not JSONDecodeError.
        (b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        # Python refuses to convert an integer string this long (ValueError).
        (b'{"specversion": "1.0", "id": ' + b"7" * 5_000 + b"}", "more digits"),
    ],
    ids=["not-json", "invalid-data", "unknown-department", "deep-nesting", "huge-integer"],
)
async def test_bad_contact_record_is_dead_lettered_unchanged_then_acknowledged(
    bridge: KafkaBroker, fake: FakeBridge, value: bytes, reason: str
) -> None:
    await bridge.publish(value, topic=TOPICS.contact_requests, key=b"k1")

    dlq = TOPICS.dlq(TOPICS.contact_requests)
    assert fake.starts == []
    assert fake.events == [("dead-letter", dlq), ("ack", TOPICS.contact_requests)]
    [dead] = fake.dead_letters[dlq]
    assert dead.value == value
    assert dead.key == b"k1"
    assert reason in dead.headers["x-error"]
    # TestKafkaBroker delivers every record at partition 0, offset 0.
    assert dead.headers["x-original-topic"] == TOPICS.contact_requests
    assert dead.headers["x-original-partition"] == "0"
    assert dead.headers["x-original-offset"] == "0"


async def test_temporal_unavailable_nacks_without_ack_or_dead_letter(
    bridge: KafkaBroker, fake: FakeBridge
) -> None:
    fake.start_error = TemporalUnavailable("still refusing after the last retry")
    event = contact_event()
    await bridge.publish(encoded(event), topic=TOPICS.contact_requests, key=b"1001")

    # Read again after the first back-off (Temporal's own retries already ran out).
    assert fake.events == [("start", event["data"]["request_id"]), ("back-off", 0.2)]
    assert all(not letters for letters in fake.dead_letters.values())
    # Nacked: on a real consumer this seeks back so the record is read again.
    [message] = bridge_messages(fake)
    assert message.committed == AckStatus.NACKED


async def test_followup_assignment_goes_to_the_assignment_handler(
    bridge: KafkaBroker, fake: FakeBridge
) -> None:
    value = json.dumps({"id": "evt-a1", "type": "anything the handler checks"}).encode()
    await bridge.publish(value, topic=TOPICS.followup_assignments, key=b"a1")

    assert fake.events == [("assignment", value), ("ack", TOPICS.followup_assignments)]
    assert fake.starts == []


async def test_assignment_rejected_by_its_handler_is_dead_lettered(
    bridge: KafkaBroker, fake: FakeBridge
) -> None:
    fake.assignment_error = Rejected("invalid cu.followup.assigned.v1 data: unknown tracker")
    value = b'{"id": "evt-a2"}'
    await bridge.publish(value, topic=TOPICS.followup_assignments, key=b"a2")

    dlq = TOPICS.dlq(TOPICS.followup_assignments)
    assert fake.events == [
        ("assignment", value),
        ("dead-letter", dlq),
        ("ack", TOPICS.followup_assignments),
    ]
    [dead] = fake.dead_letters[dlq]
    assert dead.value == value
    assert dead.headers["x-error"] == "invalid cu.followup.assigned.v1 data: unknown tracker"


async def test_assignment_without_a_handler_is_dead_lettered(
    bridge: KafkaBroker, fake: FakeBridge
) -> None:
    fake.handle_assignments = False  # deps are read per message
    await bridge.publish(b"anything", topic=TOPICS.followup_assignments, key=b"a3")

    dlq = TOPICS.dlq(TOPICS.followup_assignments)
    assert fake.events == [("dead-letter", dlq), ("ack", TOPICS.followup_assignments)]
    [dead] = fake.dead_letters[dlq]
    assert dead.value == b"anything"
    assert "not handled by this bridge" in dead.headers["x-error"]


@pytest.mark.parametrize(
    "topic", [TOPICS.contact_requests, TOPICS.followup_assignments], ids=["contact", "assignment"]
)
async def test_unexpected_error_reads_the_record_again_without_acknowledging(
    bridge: KafkaBroker, fake: FakeBridge, caplog: pytest.LogCaptureFixture, topic: str
) -> None:
    # e.g. PostgreSQL down during the assignee check; the message quotes member data.
    error = ConnectionRefusedError("refused while saving: My card was declined")
    fake.start_error = fake.assignment_error = error
    value = encoded(contact_event())
    await bridge.publish(value, topic=topic, key=b"1001")

    assert [kind for kind, _ in fake.events] == [
        "start" if topic == TOPICS.contact_requests else "assignment",
        "back-off",
    ]
    assert all(not letters for letters in fake.dead_letters.values())
    [message] = bridge_messages(fake)
    assert message.committed == AckStatus.NACKED
    assert fake.health.healthy
    # The log names the record and the error's type, never the error's message.
    assert f"{topic}[0]@0" in caplog.text
    assert "ConnectionRefusedError" in caplog.text
    assert "declined" not in caplog.text


async def test_a_record_failing_again_backs_off_longer_until_it_succeeds(
    bridge: KafkaBroker, fake: FakeBridge
) -> None:
    fake.start_error = RuntimeError("still failing")
    value = encoded(contact_event())
    # TestKafkaBroker delivers every record at partition 0, offset 0: the same record again.
    for _ in range(3):
        await bridge.publish(value, topic=TOPICS.contact_requests, key=b"1001")
    fake.start_error = None
    await bridge.publish(value, topic=TOPICS.contact_requests, key=b"1001")
    fake.start_error = RuntimeError("a new failure")
    await bridge.publish(value, topic=TOPICS.contact_requests, key=b"1001")

    assert [seconds for kind, seconds in fake.events if kind == "back-off"] == [0.2, 0.5, 1.0, 0.2]
    assert [m.committed for m in bridge_messages(fake)] == [AckStatus.NACKED] * 3 + [
        None,  # acknowledged through the fake, which leaves the status alone
        AckStatus.NACKED,
    ]
    assert fake.events.count(("ack", TOPICS.contact_requests)) == 1


async def test_a_failed_commit_after_the_start_is_neither_retried_nor_raised(
    bridge: KafkaBroker, fake: FakeBridge
) -> None:
    fake.ack_error = CommitFailedError("group rebalanced")
    event = contact_event()
    await bridge.publish(encoded(event), topic=TOPICS.contact_requests, key=b"1001")

    # Started: a restart reads it again and joins the same workflow, so no back-off and no nack.
    assert fake.events == [("start", event["data"]["request_id"]), ("ack", TOPICS.contact_requests)]
    [message] = bridge_messages(fake)
    assert message.committed is None


async def test_permanent_temporal_refusal_stops_consuming_without_ack_or_dead_letter(
    bridge: KafkaBroker, fake: FakeBridge
) -> None:
    assert fake.healthy_gauge() == 1.0
    fake.start_error = RPCError("Request unauthorized.", RPCStatusCode.PERMISSION_DENIED, b"")
    refused = contact_event()
    await bridge.publish(encoded(refused), topic=TOPICS.contact_requests, key=b"1001")
    later = contact_event()
    await bridge.publish(encoded(later), topic=TOPICS.contact_requests, key=b"1002")

    # Stopped: the refused record was not acknowledged nor retried, the later one not started.
    assert fake.events == [("start", refused["data"]["request_id"])]
    assert all(not letters for letters in fake.dead_letters.values())
    assert [m.committed for m in bridge_messages(fake)] == [AckStatus.NACKED, AckStatus.NACKED]
    assert fake.health.stopped == StopReason(
        topic=TOPICS.contact_requests, partition=0, offset=0, error="RPCError PERMISSION_DENIED"
    )
    assert fake.healthy_gauge() == 0.0
