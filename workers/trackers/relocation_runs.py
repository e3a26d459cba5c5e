"""Running a consolidation or a copy from the desk: once per ``Idempotency-Key``, answered when
its workflow has finished.

The workflow id derives from the caller and their key (a hash: no member number), so a
re-submitted key finds the run it started: ``REJECT_DUPLICATE`` never runs a finished one again
and ``USE_EXISTING`` joins a running one. The run carries a fingerprint of the request in its
memo; a key re-submitted with another request answers 409 instead of the first request's
result. The answer waits for the run under the API's Update deadline
(``MEMBERFLOW_API_UPDATE_TIMEOUT_SECONDS``): past it, 504, and the same request with the same key
later gets the result.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException
from pydantic import BaseModel
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.vocabulary import REFUSALS
from workers.platform.database import derived_id
from workers.platform.web.errors import UNCLASSIFIED_UPDATE_FAILURE, http_error, status_of

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

FINGERPRINT = "fingerprint"
"""The memo key holding the request's fingerprint."""


def keyed_id(kind: str, caller: str, idempotency_key: str) -> str:
    """The consolidation's or copy's id: one per caller and key (two callers never collide)."""
    return derived_id(kind, f"desk/{caller}/{idempotency_key}")


def fingerprint(member_id: str, body: BaseModel) -> str:
    """A hash of everything the request is made of."""
    content = json.dumps([member_id, body.model_dump(mode="json")], sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:32]


async def _is_new(temporal: Client, workflow_id: str) -> bool:
    """Whether no run exists under this id yet (a key not seen before)."""
    try:
        await temporal.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return True
        raise
    return False


async def _started(
    temporal: Client,
    run: Callable[[Any, ArgT], Awaitable[ResultT]],
    arg: ArgT,
    *,
    workflow_id: str,
    task_queue: str,
    print_: str,
) -> WorkflowHandle[Any, ResultT]:
    try:
        return await temporal.start_workflow(
            run,
            arg,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            memo={FINGERPRINT: print_},
        )
    except WorkflowAlreadyStartedError:
        # Finished already (a re-submitted key): its result is the answer.
        return temporal.get_workflow_handle_for(run, workflow_id)


def _refused(exc: WorkflowFailureError, what: str) -> HTTPException:
    """The desk's answer to a run that ended failed: its refusal, or a plain 409."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type in REFUSALS:
        # Written for the caller by the store (ids and codes, never member data).
        return HTTPException(status_of(cause.type), detail=cause.message)
    return HTTPException(UNCLASSIFIED_UPDATE_FAILURE, detail=f"the {what} did not complete")


async def run_keyed(
    temporal: Client,
    run: Callable[[Any, ArgT], Awaitable[ResultT]],
    arg: ArgT,
    *,
    workflow_id: str,
    task_queue: str,
    request_print: str,
    idempotency_key: str,
    deadline_seconds: float,
    what: str,
    precheck: Callable[[], Awaitable[None]] | None = None,
) -> ResultT:
    """Start (or find) the key's workflow and answer with its result.

    Args:
        temporal: Temporal client.
        run: The workflow's run method.
        arg: Its input.
        workflow_id: Derived from the caller's key (``contracts.ids``).
        task_queue: The worker's task queue.
        request_print: :func:`fingerprint` of the request.
        idempotency_key: The caller's key, named in a 409.
        deadline_seconds: How long the caller waits for the run.
        what: The action in words (``consolidation``), for error details.
        precheck: Refuses a new key's request at once (raising the refusal's HTTP error), so
            a request that cannot succeed starts no workflow. Not called for a key that has
            a run: its answer is that run's (or 409 for another request).

    Returns:
        The workflow's result.

    Raises:
        HTTPException: 409 key used for another request; the refusal's status (404, 409, 422)
            when the run was refused; 503 Temporal unavailable; 504 not finished in time.
    """
    try:
        async with asyncio.timeout(deadline_seconds):
            if precheck is not None and await _is_new(temporal, workflow_id):
                await precheck()
            handle = await _started(
                temporal,
                run,
                arg,
                workflow_id=workflow_id,
                task_queue=task_queue,
                print_=request_print,
            )
            description = await handle.describe()
            earlier = await description.memo_value(FINGERPRINT, None, type_hint=str)
            if earlier != request_print:
                raise HTTPException(
                    409,
                    detail=(
                        f"Idempotency-Key {idempotency_key!r} was already used for a different "
                        f"{what}"
                    ),
                )
            return await handle.result()
    except WorkflowFailureError as exc:
        raise _refused(exc, what) from None
    except TimeoutError:
        raise HTTPException(
            504,
            detail=(
                f"the {what} did not finish within {deadline_seconds:g} s; it may still finish: "
                "send the same request with the same Idempotency-Key for its answer"
            ),
        ) from None
    except RPCError as exc:
        raise http_error(exc, f"the {what}", deadline_seconds=deadline_seconds) from exc
