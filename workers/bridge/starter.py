"""Starting workflows from Kafka records: idempotent, retried while Temporal is unreachable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.contact import ContactRequestInput
from workflows.contact_request import ContactRequestWorkflow

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


def contact_workflow_id(request_id: str) -> str:
    """The business-key workflow id of a Contact Us request."""
    return f"contact-request-{request_id}"


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


async def start_contact_request(
    client: Client, task_queue: str, start: ContactRequestInput
) -> bool:
    """Start the request's workflow unless it exists already.

    Returns:
        False when the request's workflow had already finished (a late redelivery), True when
        it was started now or is still running (``USE_EXISTING`` hands back the open run).
    """
    request = start.request
    workflow_id = contact_workflow_id(request.request_id)

    async def call() -> bool:
        try:
            # REJECT_DUPLICATE + USE_EXISTING: a redelivered record never re-runs a finished
            # request nor starts a second run of an open one (TECH_NOTES §1.3).
            await client.start_workflow(
                ContactRequestWorkflow.run,
                start,
                id=workflow_id,
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=ContactRequestWorkflow.initial_search_attributes(request),
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    return await with_retries(call, f"start {workflow_id}")


__all__ = [
    "TemporalUnavailable",
    "contact_workflow_id",
    "start_contact_request",
    "with_retries",
]
