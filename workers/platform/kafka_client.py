"""Kafka connection options and the idempotent event publisher used by activities."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

import polars as pl
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner

from contracts.platform.events import CloudEvent
from workers.platform.settings import KafkaSettings


def connection_options(settings: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for bootstrap servers, TLS and SASL."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in {"SSL", "SASL_SSL"}:
        context = ssl.create_default_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
        )
        if settings.ssl_certfile:
            context.load_cert_chain(
                str(settings.ssl_certfile),
                str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
            )
        options["ssl_context"] = context
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = sasl_password(settings)
    return options


def sasl_password(settings: KafkaSettings) -> str | None:
    """The SASL password: ``sasl_password``, else the content of ``sasl_password_file``."""
    if settings.sasl_password is not None:
        return settings.sasl_password.get_secret_value()
    if settings.sasl_password_file is not None:
        return settings.sasl_password_file.read_text(encoding="utf-8").strip()
    return None


async def ensure_topics(settings: KafkaSettings, topics: list[str]) -> None:
    """Create any missing topic with the configured partition count (replication 1 locally)."""
    admin = AIOKafkaAdminClient(**connection_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            # Another process may create one between list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, settings.topic_partitions, 1) for t in missing]
                )
    finally:
        await admin.close()


def event_headers(event_id: str) -> list[tuple[str, bytes]]:
    """Headers of a CloudEvent record: the id consumers de-duplicate on, and the content type."""
    return [
        ("idempotency-key", event_id.encode()),
        ("content-type", b"application/cloudevents+json"),
    ]


def encode_event(event: CloudEvent) -> bytes:
    """Structured-mode JSON bytes of an event."""
    return event.model_dump_json(exclude_none=True).encode()


_partitioner = DefaultPartitioner()


class EventPublisher:
    """Publishes CloudEvents with the idempotent producer (acks=all, no retry duplicates).

    An activity retry is a new send, so each record also carries an ``idempotency-key`` header
    (and the event id, which consumers de-duplicate on) derived from the business step.
    """

    def __init__(self, settings: KafkaSettings) -> None:
        self._producer = AIOKafkaProducer(
            **connection_options(settings),
            enable_idempotence=True,
            linger_ms=5,
        )

    async def start(self) -> None:
        """Connect the producer."""
        await self._producer.start()

    async def stop(self) -> None:
        """Flush and close the producer."""
        await self._producer.stop()

    async def publish(self, topic: str, key: str, event: CloudEvent) -> None:
        """Send one event and wait for the broker's acknowledgement."""
        await self._producer.send_and_wait(
            topic, value=encode_event(event), key=key.encode(), headers=event_headers(event.id)
        )

    async def publish_encoded(self, topic: str, frame: pl.DataFrame, id_prefix: str) -> None:
        """Send pre-encoded ``key, value`` text rows and wait for every acknowledgement.

        For large announcements (a month's level changes): records are appended to one batch
        per partition, which costs about half of one ``send`` per record. The partition is
        the producer's default for the key, so every member's events stay in order.

        Args:
            topic: The topic.
            frame: Rows of ``key`` and ``value`` strings (structured-mode CloudEvent JSON).
            id_prefix: Event id prefix; each record's id is ``id_prefix + key``.
        """
        if frame.height == 0:
            return
        partitions = sorted(await self._producer.partitions_for(topic))
        batches: dict[int, Any] = {}
        sent: list[asyncio.Future[Any]] = []
        for key_text, value_text in frame.iter_rows():
            key = key_text.encode()
            value = value_text.encode()
            headers = event_headers(f"{id_prefix}{key_text}")
            partition = _partitioner(key, partitions, partitions)
            batch = batches.get(partition)
            if batch is None:
                batch = batches[partition] = self._producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                sent.append(await self._producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = self._producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        for partition, batch in batches.items():
            if batch.record_count():
                sent.append(await self._producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*sent)
