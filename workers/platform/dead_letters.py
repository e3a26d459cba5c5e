"""Dead-lettering: the original key and value bytes, unchanged, plus the reason in headers."""

from __future__ import annotations

from typing import Protocol

from aiokafka.structs import ConsumerRecord


class RawPublisher(Protocol):
    """Anything that can publish raw bytes with headers (the FastStream broker does)."""

    async def publish(
        self,
        message: bytes,
        topic: str = "",
        *,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> object: ...


def dead_letter_headers(record: ConsumerRecord[bytes, bytes], reason: str) -> dict[str, str]:
    """The ``x-*`` headers of a dead letter (docs/messages.md, 'Dead letters')."""
    return {
        "x-error": reason,
        "x-original-topic": record.topic,
        "x-original-partition": str(record.partition),
        "x-original-offset": str(record.offset),
    }


async def dead_letter(
    publisher: RawPublisher, record: ConsumerRecord[bytes, bytes], dlq_topic: str, reason: str
) -> None:
    """Publish the record to its dead-letter topic and wait for the broker's acknowledgement."""
    await publisher.publish(
        record.value if record.value is not None else b"",
        topic=dlq_topic,
        key=record.key,
        headers=dead_letter_headers(record, reason),
    )
