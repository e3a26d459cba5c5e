"""Mapping Temporal and store failures to the API's answers: the one failure → status table.

Refusals map to 4xx by their type. A Temporal that cannot be reached answers 503; an Update
that did not finish within the API's deadline answers 504 (the workflow may still apply it).
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from temporalio.client import RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.service import RPCError, RPCStatusCode

from contracts.vocabulary import REFUSALS, Refusal
from workers.platform.errors import database_unavailable

STATUS_BY_REFUSAL: dict[Refusal, int] = {
    Refusal.CONFLICT: 409,
    Refusal.FORBIDDEN: 403,
    Refusal.UNKNOWN_EMPLOYEE: 422,
    Refusal.VALIDATION: 422,
    Refusal.NOT_FOUND: 404,
}
"""Every refusal type and the HTTP status the desk API answers it with."""

UNCLASSIFIED_UPDATE_FAILURE = 409
"""An Update failed for a reason that is not a known refusal: the request's state said no."""

TEMPORAL_UNAVAILABLE = 503
"""Temporal could not be reached (or refused for load): try again shortly."""

UPDATE_TIMED_OUT = 504
"""The workflow did not answer within the API's deadline (the ``api_update_timeout_seconds``
setting)."""

DATABASE_UNAVAILABLE = 503
"""The database could not be reached or did not answer in time: try again shortly."""

_UNAVAILABLE = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.RESOURCE_EXHAUSTED})


def status_of(error_type: str | None) -> int:
    """The HTTP status of a refusal type as Temporal carries it (a string, maybe unknown)."""
    try:
        return STATUS_BY_REFUSAL[Refusal(error_type or "")]
    except ValueError:
        return UNCLASSIFIED_UPDATE_FAILURE


def _refusal(cause: BaseException | None) -> ApplicationError | None:
    """The ``ApplicationError`` an Update failed with, or None.

    An activity's (or a child's) failure may end an Update as it is (``ContactRequestWorkflow``
    does not re-raise it): then only a deliberate refusal inside it counts, one raised
    non-retryable with a known type, whose message is written for the caller. Anything else
    an activity raised (a driver's or pydantic's error text) may quote member data.
    """
    if isinstance(cause, ApplicationError):
        return cause
    while isinstance(cause, ActivityError | ChildWorkflowError):
        cause = cause.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable and cause.type in REFUSALS:
        return cause
    return None


def timed_out(what: str, seconds: float) -> HTTPException:
    """504 for an Update that did not finish in time; it may still take effect later."""
    return HTTPException(
        UPDATE_TIMED_OUT,
        detail=(
            f"{what} did not answer within {seconds:g} s; the action may still take effect, "
            "so read it again before retrying"
        ),
    )


def http_error(
    exc: BaseException, what: str, *, deadline_seconds: float | None = None
) -> HTTPException:
    """The HTTP error for a failed Update call, or re-raise what the table does not know.

    Args:
        exc: What the Update call raised.
        what: The record acted on, for the detail (e.g. ``contact request REQ-1``).
        deadline_seconds: The deadline the call ran under, named in a 504's detail.
    """
    if isinstance(exc, WorkflowUpdateFailedError):
        refusal = _refusal(exc.cause)
        if refusal is not None:
            return HTTPException(status_of(refusal.type), detail=refusal.message)
        return HTTPException(UNCLASSIFIED_UPDATE_FAILURE, detail=str(exc.cause or exc))
    if isinstance(exc, RPCTimeoutOrCancelledError | TimeoutError) or (
        isinstance(exc, RPCError) and exc.status == RPCStatusCode.DEADLINE_EXCEEDED
    ):
        if deadline_seconds is None:
            return HTTPException(UPDATE_TIMED_OUT, detail=f"{what} did not answer in time")
        return timed_out(what, deadline_seconds)
    if isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND:
        return HTTPException(404, detail=f"{what} not found")
    if isinstance(exc, RPCError) and exc.status in _UNAVAILABLE:
        return HTTPException(
            TEMPORAL_UNAVAILABLE,
            detail=f"Temporal is unavailable, {what} could not be reached; try again shortly",
        )
    raise exc


async def database_unavailable_answer(request: Request, exc: Exception) -> JSONResponse:
    """503 for an unreachable or silent database (an exception handler of the API app).

    Anything else reaching this handler is re-raised: a 500 for a bug, never a 503 hiding one.
    The detail names no statement and no value: the driver's text may quote member data.
    """
    if not database_unavailable(exc):
        raise exc
    return JSONResponse(
        {"detail": "the database is unavailable; try again shortly"},
        status_code=DATABASE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )
