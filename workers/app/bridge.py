"""The Kafka → Temporal bridge (FastStream): validate, start, then commit this record's offset.

Longer than most modules because one record's whole fate (start, dead letter, read again, stop,
and its share of a graceful shutdown) is decided in one handler and must be read together.

Every record ends one of three ways; none is ever skipped (docs/messages.md, "Dead letters"):

- started: Temporal accepted the start, then ``offset + 1`` is committed on its own partition
  (``AckPolicy.MANUAL``), never the consumer's whole position;
- dead-lettered: it can never succeed (``Rejected``, including anything the parser raises on),
  so it goes to ``<topic>.dlq`` with a reason and is then committed;
- read again: anything else (Temporal or PostgreSQL unreachable, an error nobody expected) seeks
  back to it and reads it again after a back-off; nothing is committed, its partition waits.

A Temporal refusal that retrying will not heal (credentials, permissions, invalid argument)
stops consumption instead, without committing, and turns ``BridgeHealth`` red.

On SIGTERM (``consume_until`` with an ``InFlight``) no new record is started, the records being
started finish their start and commit within the grace, and only then are the consumers stopped:
a record is either started and committed, or left uncommitted for the next bridge to read.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError
from aiokafka.structs import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.message import FakeConsumer
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.message import AckStatus, StreamMessage
from faststream.security import BaseSecurity
from prometheus_client import CollectorRegistry
from temporalio.service import RPCError

from contracts.contacts.workflow import ContactRequestInput, PrivateContactsOptions
from contracts.platform.topics import Topics
from workers.app.bridge_health import BridgeHealth, StopReason, export_health
from workers.contacts.intake import parse_contact
from workers.platform.dead_letters import dead_letter
from workers.platform.intake import Rejected
from workers.platform.kafka_client import connection_options
from workers.platform.settings import KafkaSettings
from workers.platform.temporal_retries import permanent_refusal, retry_delay

log = logging.getLogger(__name__)

AssignmentHandler = Callable[[bytes | None], Awaitable[None]]
# Starts a contact request's workflow; raises when the record must be read again.
ContactStarter = Callable[[ContactRequestInput], Awaitable[object]]
# Commits a record's offset + 1 on its partition.
Acknowledger = Callable[[KafkaMessage], Awaitable[None]]
# Waits the given seconds before a failed record is read again.
BackOff = Callable[[float], Awaitable[None]]


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
    # Injectable so tests see the back-off without waiting for it.
    back_off: BackOff = asyncio.sleep


# Parses one record value and starts its workflow (contact requests or assignments).
Process = Callable[[BridgeDeps, bytes | None], Awaitable[None]]

# FastStream's own wait for running handlers when the broker stops. ``consume_until`` has
# already waited the whole grace for records being started; what is left then is a back-off
# sleep (its record was sought back, nothing to lose) or a start cut short, so one second.
_BROKER_GRACEFUL_SECONDS = 1.0


class InFlight:
    """The records whose start (or dead letter) and commit are under way, for shutdown.

    ``close()`` makes the handlers start nothing more; ``drained()`` waits for those under way.
    """

    def __init__(self) -> None:
        self._under_way: set[str] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.closed = False

    @contextmanager
    def track(self, record: ConsumerRecord[bytes, bytes]) -> Iterator[None]:
        """Count ``record`` as under way for the duration of the block."""
        where = _where(record)
        self._under_way.add(where)
        self._idle.clear()
        try:
            yield
        finally:
            self._under_way.discard(where)
            if not self._under_way:
                self._idle.set()

    def close(self) -> None:
        """Start no new record: records handed over from now on are left uncommitted."""
        self.closed = True

    async def drained(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds; the records still under way then (topic[p]@offset)."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        return sorted(self._under_way)


async def raw_body(message: StreamMessage[ConsumerRecord[bytes, bytes]]) -> bytes:
    """Decoder that keeps the value bytes: the bridge parses (and dead-letters) itself."""
    return message.body


async def acknowledge(message: KafkaMessage) -> None:
    """Commit this record's ``offset + 1`` on its own partition, and nothing else.

    ``message.ack()`` would commit the consumer's position on every partition it reads, passing
    over a record on another partition that failed and waits to be read again.
    """
    record: ConsumerRecord[bytes, bytes] = message.raw_message
    consumer = message.consumer
    if isinstance(consumer, AIOKafkaConsumer):
        await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
    elif not isinstance(consumer, FakeConsumer):  # FastStream's in-memory broker: nothing to commit
        raise TypeError(f"cannot commit an offset on {type(consumer).__name__}")
    message.committed = AckStatus.ACKED


def build_broker(
    settings: KafkaSettings,
    topics: Topics,
    deps: Callable[[], BridgeDeps],
    registry: CollectorRegistry | None = None,
    health: BridgeHealth | None = None,
    in_flight: InFlight | None = None,
) -> KafkaBroker:
    """A broker with the bridge's subscribers; ``deps`` is read at message time.

    ``health`` turns red when a failure that will not heal stops consumption; ``consume_until``
    then stops the broker. It is exported as ``memberflow_bridge_healthy`` on ``registry``.
    ``in_flight`` counts the records being started, so that ``consume_until`` can let them
    finish before it stops the consumers.
    """
    options = connection_options(settings)
    health = health if health is not None else BridgeHealth()
    in_flight = in_flight if in_flight is not None else InFlight()
    broker = KafkaBroker(
        options.pop("bootstrap_servers"),
        enable_idempotence=True,
        graceful_timeout=_BROKER_GRACEFUL_SECONDS,
        security=_security(options),
        # Received/processed counts and durations per topic, when metrics are on.
        middlewares=(
            [KafkaPrometheusMiddleware(registry=registry, app_name="memberflow-bridge")]
            if registry is not None
            else []
        ),
    )
    if registry is not None:
        export_health(registry, health)
    attempts = _Attempts()

    async def handle(message: KafkaMessage, process: Process) -> None:
        record: ConsumerRecord[bytes, bytes] = message.raw_message
        current = deps()
        if not health.healthy or in_flight.closed:
            # Consumption is stopping: leave the record for the next start.
            await _hold(message)
            return
        # No await between the check above and ``track``: a record is either refused by a
        # closed ``in_flight`` or counted, so the shutdown drain never misses one.
        with in_flight.track(record):
            delay = await start_and_commit(current, message, process)
        if delay is not None and not in_flight.closed:
            # Outside ``track``: the record was sought back already, a stop need not wait.
            await current.back_off(delay)

    async def start_and_commit(
        current: BridgeDeps, message: KafkaMessage, process: Process
    ) -> float | None:
        """Start (or dead-letter) and commit; the back-off when the record is to be read again."""
        record: ConsumerRecord[bytes, bytes] = message.raw_message
        try:
            await process(current, record.value)
        except Rejected as rejected:
            log.warning("dead-lettering %s: %s", _where(record), rejected.reason)
            try:
                await dead_letter(broker, record, topics.dlq(record.topic), rejected.reason)
            except Exception as exc:
                return await read_again(message, exc)
        except Exception as exc:
            refusal = permanent_refusal(exc)
            if refusal is None:
                return await read_again(message, exc)
            await stop_consuming(message, refusal)
            return None
        attempts.clear(record)
        await _commit(current, message)
        return None

    async def read_again(message: KafkaMessage, exc: Exception) -> float:
        record: ConsumerRecord[bytes, bytes] = message.raw_message
        attempt = attempts.failed(record)
        delay = retry_delay(attempt)
        log.error(
            "%s failed (%s, attempt %d); not committed, reading it again in %.1fs",
            _where(record),
            _describe(exc),
            attempt,
            delay,
        )
        await _seek_back(message)
        return delay

    async def stop_consuming(message: KafkaMessage, refusal: str) -> None:
        record: ConsumerRecord[bytes, bytes] = message.raw_message
        log.error(
            "bridge stopping: %s was refused by Temporal with %s, which retrying will not heal; "
            "not committed, not dead-lettered; fix the cause, then restart the bridge",
            _where(record),
            refusal,
        )
        health.stop(StopReason(record.topic, record.partition, record.offset, refusal))
        await _hold(message)

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


async def consume_until(
    broker: KafkaBroker,
    health: BridgeHealth,
    stop: asyncio.Event,
    in_flight: InFlight | None = None,
    grace: float = 15.0,
) -> None:
    """Let the started ``broker`` consume until ``stop`` is set, then stop it.

    When ``health`` turns red first, the broker is stopped at once and this keeps waiting for
    ``stop`` with health red: the process's other parts carry on and the health can be read.
    On ``stop``, with the broker's ``in_flight``: start nothing more, give the records being
    started up to ``grace`` seconds to be started and committed, then stop the consumers.
    """
    red = asyncio.create_task(health.wait_stopped())
    stopping = asyncio.create_task(stop.wait())
    broker_stopped = False
    try:
        await asyncio.wait({red, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if red.done():
            log.error(
                "bridge stopped consuming (%s); health is red until the bridge is restarted",
                red.result().describe(),
            )
            broker_stopped = True
            await broker.stop()
            await stopping
        elif in_flight is not None:
            await _drain(in_flight, grace)
    finally:
        red.cancel()
        stopping.cancel()
        if not broker_stopped:
            await broker.stop()


async def _drain(in_flight: InFlight, grace: float) -> None:
    """Close ``in_flight`` and wait for its records; log the ones the grace cut short."""
    in_flight.close()
    cut_short = await in_flight.drained(grace)
    if cut_short:
        # Positions only, never record contents: they are read again by the next bridge.
        log.error(
            "bridge shutdown: %d record(s) still being started after the %.0fs grace are cut "
            "short; not committed, the next bridge reads them again: %s",
            len(cut_short),
            grace,
            ", ".join(cut_short),
        )
    else:
        log.info("bridge shutdown: every record being started was started and committed")


class _Attempts:
    """Consecutive failures of the record each partition is held at, for the back-off."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, int], tuple[int, int]] = {}

    def failed(self, record: ConsumerRecord[bytes, bytes]) -> int:
        """Count one more failure of this record; returns how many in a row (from 1)."""
        key = (record.topic, record.partition)
        offset, count = self._held.get(key, (record.offset, 0))
        count = count + 1 if offset == record.offset else 1
        self._held[key] = (record.offset, count)
        return count

    def clear(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """The partition moved past its held record."""
        self._held.pop((record.topic, record.partition), None)


async def _commit(current: BridgeDeps, message: KafkaMessage) -> None:
    try:
        await current.acknowledge(message)
    except Exception as exc:
        # Started or dead-lettered already: the next commit on this partition covers it, or
        # whoever reads it again handles it once more (a second start joins the same workflow).
        log.warning("commit of %s failed (%s)", _where(message.raw_message), _describe(exc))


async def _seek_back(message: KafkaMessage) -> None:
    try:
        await message.nack()  # seeks this record's partition back to this record
    except IllegalStateError:
        # Reassigned meanwhile: its new reader starts at the committed offset, this record.
        log.info("%s was reassigned before it could be read again", _where(message.raw_message))


async def _hold(message: KafkaMessage) -> None:
    """Leave the record uncommitted and fetch nothing more on its consumer."""
    await _seek_back(message)
    consumer = message.consumer
    if isinstance(consumer, AIOKafkaConsumer):
        consumer.pause(*consumer.assignment())


def _where(record: ConsumerRecord[bytes, bytes]) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"


def _describe(exc: BaseException) -> str:
    """The error's type, Temporal status and where it was raised; never its message."""
    name = type(exc).__qualname__
    if type(exc).__module__ != "builtins":
        name = f"{type(exc).__module__}.{name}"
    if isinstance(exc, RPCError):
        name = f"{name} {exc.status.name}"
    elif isinstance(exc.__cause__, RPCError):
        name = f"{name} after RPCError {exc.__cause__.status.name}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        name = f"{name} at {Path(frames[-1].filename).name}:{frames[-1].lineno}"
    return name


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
