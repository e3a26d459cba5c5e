"""The Kafka → Temporal bridge (FastStream): validate, start or signal, then commit.

Offsets are committed only after Temporal accepted the start (``AckPolicy.MANUAL``), records
that can never succeed go to ``<topic>.dlq`` and are then committed, and records that failed
for a transient reason are read again (``nack`` seeks back) so nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.message import StreamMessage
from faststream.security import BaseSecurity
from prometheus_client import CollectorRegistry

from contracts.contacts.workflow import ContactRequestInput, PrivateContactsOptions
from contracts.platform.topics import Topics
from workers.contacts.intake import parse_contact
from workers.platform.dead_letters import dead_letter
from workers.platform.intake import Rejected
from workers.platform.kafka_client import connection_options
from workers.platform.settings import KafkaSettings
from workers.platform.temporal_retries import TemporalUnavailable

log = logging.getLogger(__name__)

AssignmentHandler = Callable[[bytes | None], Awaitable[None]]
# Starts a contact request's workflow; raises TemporalUnavailable when the record must be re-read.
ContactStarter = Callable[[ContactRequestInput], Awaitable[object]]
# Commits the consumer's position past a record.
Acknowledger = Callable[[KafkaMessage], Awaitable[None]]


@dataclass
class BridgeDeps:
    """What the handlers need; built once per process after any fork."""

    departments: set[str]
    contact_options: PrivateContactsOptions
    start_contact: ContactStarter
    # Called only once Temporal accepted the start (or the record was dead-lettered).
    acknowledge: Acknowledger
    # Validates and starts a follow-up assignment; raises Rejected for dead letters.
    start_assignment: AssignmentHandler | None = None


async def raw_body(message: StreamMessage[ConsumerRecord[bytes, bytes]]) -> bytes:
    """Decoder that keeps the value bytes: the bridge parses (and dead-letters) itself."""
    return message.body


async def acknowledge(message: KafkaMessage) -> None:
    """Commit the consumer's position past this record."""
    await message.ack()


def build_broker(
    settings: KafkaSettings,
    topics: Topics,
    deps: Callable[[], BridgeDeps],
    registry: CollectorRegistry | None = None,
) -> KafkaBroker:
    """A broker with the bridge's subscribers; ``deps`` is read at message time."""
    options = connection_options(settings)
    broker = KafkaBroker(
        options.pop("bootstrap_servers"),
        enable_idempotence=True,
        graceful_timeout=15.0,
        security=_security(options),
        # Received/processed counts and durations per topic, when metrics are on.
        middlewares=(
            [KafkaPrometheusMiddleware(registry=registry, app_name="memberflow-bridge")]
            if registry is not None
            else []
        ),
    )

    async def handle(
        message: KafkaMessage, process: Callable[[BridgeDeps, bytes | None], Awaitable[None]]
    ) -> None:
        record: ConsumerRecord[bytes, bytes] = message.raw_message
        current = deps()
        try:
            await process(current, record.value)
        except Rejected as rejected:
            log.warning(
                "dead-lettering %s[%d]@%d: %s",
                record.topic,
                record.partition,
                record.offset,
                rejected.reason,
            )
            await dead_letter(broker, record, topics.dlq(record.topic), rejected.reason)
        except TemporalUnavailable:
            log.error(
                "Temporal unavailable; %s[%d]@%d will be read again",
                record.topic,
                record.partition,
                record.offset,
            )
            await message.nack()
            return
        await current.acknowledge(message)

    async def process_contact(current: BridgeDeps, value: bytes | None) -> None:
        accepted = parse_contact(value, current.departments)
        start = ContactRequestInput(
            event_id=accepted.event.id, request=accepted.data, options=current.contact_options
        )
        await current.start_contact(start)

    async def process_assignment(current: BridgeDeps, value: bytes | None) -> None:
        if current.start_assignment is None:
            raise Rejected("follow-up assignments are not handled by this bridge")
        await current.start_assignment(value)

    # MANUAL: commit only after Temporal accepted (FastStream's Kafka default commits first).
    # max_workers: consumers concurrent across partitions, in order within one (per member).
    @broker.subscriber(
        topics.contact_requests,
        group_id=settings.bridge_group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_body,
        max_workers=settings.bridge_max_workers,
        title="contact-requests",
    )
    async def on_contact_request(body: bytes, message: KafkaMessage) -> None:
        await handle(message, process_contact)

    @broker.subscriber(
        topics.followup_assignments,
        # A group per topic: a rebalance of one topic's consumers leaves the other alone.
        group_id=f"{settings.bridge_group_id}.assignments",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_body,
        max_workers=settings.bridge_max_workers,
        title="followup-assignments",
    )
    async def on_assignment(body: bytes, message: KafkaMessage) -> None:
        await handle(message, process_assignment)

    return broker


def _security(options: dict[str, object]) -> BaseSecurity | None:
    """FastStream security object for TLS/SASL options (None for plaintext)."""
    from faststream.security import SASLPlaintext, SASLScram256, SASLScram512

    ssl_context = options.get("ssl_context")
    mechanism = options.get("sasl_mechanism")
    use_ssl = ssl_context is not None
    if mechanism is None:
        return BaseSecurity(ssl_context=ssl_context, use_ssl=use_ssl) if use_ssl else None  # type: ignore[arg-type]
    username = str(options.get("sasl_plain_username") or "")
    password = str(options.get("sasl_plain_password") or "")
    kinds = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    return kinds[str(mechanism)](username, password, ssl_context=ssl_context, use_ssl=use_ssl)  # type: ignore[arg-type]
