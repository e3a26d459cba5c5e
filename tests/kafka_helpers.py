"""Publishing raw records to, and reading records from, the real broker in tests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts.contacts.messages import CONTACT_SUBMITTED
from workers.platform.kafka_client import connection_options
from workers.platform.kafka_reader import Record, read_topic
from workers.platform.settings import KafkaSettings


async def produce(
    kafka: str | KafkaSettings, topic: str, items: list[tuple[bytes | None, bytes]]
) -> None:
    """Send (key, value) records in order and wait for every acknowledgement.

    ``kafka`` is a bootstrap address (plaintext) or full settings (SASL and TLS included).
    """
    settings = KafkaSettings(bootstrap_servers=kafka) if isinstance(kafka, str) else kafka
    producer = AIOKafkaProducer(**connection_options(settings), enable_idempotence=True)
    await producer.start()
    try:
        for key, value in items:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Record]:
    """Read ``count`` records from the start of ``topic`` (fewer if ``timeout`` runs out)."""
    return await read_topic(KafkaSettings(bootstrap_servers=bootstrap), topic, count, timeout)


def contact_event(
    request_id: str | None = None,
    member_id: str = "1001",
    department: str | None = "LOANS",
    **overrides: Any,
) -> dict[str, Any]:
    """A valid ``cu.contact.submitted.v1`` CloudEvent."""
    request_id = request_id or f"req-{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC).isoformat()
    data: dict[str, Any] = {
        "request_id": request_id,
        "member_id": member_id,
        "channel": "online",
        "subject": "Question about my loan",
        "message": "Could someone call me about my car loan payoff?",
        "submitted_at": now,
    }
    if department:
        data["department"] = department
    data.update(overrides)
    return {
        "specversion": "1.0",
        "id": f"evt-{request_id}",
        "source": "/channels/its-me-247",
        "type": CONTACT_SUBMITTED,
        "time": now,
        "datacontenttype": "application/json",
        "subject": member_id,
        "data": data,
    }


def encoded(event: dict[str, Any]) -> bytes:
    """JSON bytes of an event."""
    return json.dumps(event).encode()
