"""Starting workflows from Kafka records: idempotent, retried while Temporal is unreachable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger(__name__)


T = TypeVar("T")


TRANSIENT_CODES = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.UNKNOWN,
}


RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class TemporalUnavailable(Exception):
    """Temporal kept refusing a start; the record must be read again, not skipped."""


async def with_retries(call: Callable[[], Awaitable[T]], what: str) -> T:
    """Run ``call``, retrying transient Temporal errors with backoff.

    Raises:
        TemporalUnavailable: still failing after the last delay.
    """
    for delay in RETRY_DELAYS:
        try:
            return await call()
        except RPCError as exc:
            if exc.status not in TRANSIENT_CODES:
                raise
            log.warning("%s failed (%s); retrying in %.1fs", what, exc.status.name, delay)
            await asyncio.sleep(delay)
    try:
        return await call()
    except RPCError as exc:
        if exc.status in TRANSIENT_CODES:
            raise TemporalUnavailable(f"{what}: {exc.message}") from exc
        raise
