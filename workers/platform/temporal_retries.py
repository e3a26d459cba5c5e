"""Starting workflows from Kafka records: idempotent, retried while Temporal is unreachable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.common import (
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger(__name__)


T = TypeVar("T")
ArgT = TypeVar("ArgT")


TRANSIENT_CODES = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.UNKNOWN,
}


# Refusals retrying cannot heal: credentials, permissions, a request Temporal will never accept
# (an unregistered search attribute, say), a namespace or API that does not exist.
PERMANENT_CODES = {
    RPCStatusCode.UNAUTHENTICATED,
    RPCStatusCode.PERMISSION_DENIED,
    RPCStatusCode.INVALID_ARGUMENT,
    RPCStatusCode.NOT_FOUND,
    RPCStatusCode.UNIMPLEMENTED,
}


RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
START_RPC_TIMEOUT = timedelta(seconds=10)
"""The longest one workflow-start call to Temporal may take before it counts as failed."""


def retry_delay(attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th consecutive failure (1-based), capped at 10."""
    return RETRY_DELAYS[min(max(attempt, 1), len(RETRY_DELAYS)) - 1]


def permanent_refusal(exc: BaseException) -> str | None:
    """``RPCError <STATUS>`` when ``exc`` is a Temporal refusal retrying will not heal, else None.

    Only the status: the error's message may name the workflow's input.
    """
    if isinstance(exc, RPCError) and exc.status in PERMANENT_CODES:
        return f"RPCError {exc.status.name}"
    return None


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


async def start_once(
    client: Client,
    run: Callable[[Any, ArgT], Awaitable[Any]],
    arg: ArgT,
    *,
    workflow_id: str,
    task_queue: str,
    search_attributes: TypedSearchAttributes,
) -> bool:
    """Start the workflow of a Kafka record unless it exists already (retried as above).

    REJECT_DUPLICATE + USE_EXISTING: a redelivered record never re-runs a finished workflow nor
    starts a second run of an open one (docs/messages.md, 'Idempotency').

    Args:
        client: Temporal client.
        run: The workflow's run method, e.g. ``ContactRequestWorkflow.run``.
        arg: Its input.
        workflow_id: The business-key id (``contracts.ids``).
        task_queue: The worker's task queue.
        search_attributes: The workflow's initial search attributes.

    Returns:
        False when the workflow had already finished (a late redelivery), True when it was
        started now or is still running (``USE_EXISTING`` hands back the open run).

    Raises:
        TemporalUnavailable: Temporal kept refusing the start.
    """

    async def call() -> bool:
        try:
            await client.start_workflow(
                run,
                arg,
                id=workflow_id,
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=search_attributes,
                # A server that stopped answering (paused, partitioned) must not hold the
                # record forever: DEADLINE_EXCEEDED is transient, and a start that did land
                # is found again by USE_EXISTING on the retry.
                rpc_timeout=START_RPC_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    return await with_retries(call, f"start {workflow_id}")
