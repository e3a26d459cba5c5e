"""Mapping Temporal and store failures to the API's 4xx answers: the one refusal → status table."""

from __future__ import annotations

from fastapi import HTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.vocabulary import Refusal

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


def status_of(error_type: str | None) -> int:
    """The HTTP status of a refusal type as Temporal carries it (a string, maybe unknown)."""
    try:
        return STATUS_BY_REFUSAL[Refusal(error_type or "")]
    except ValueError:
        return UNCLASSIFIED_UPDATE_FAILURE


def http_error(exc: Exception, what: str) -> HTTPException:
    """The HTTP error for a failed Update, or re-raise what is not a client's fault."""
    if isinstance(exc, WorkflowUpdateFailedError):
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            return HTTPException(status_of(cause.type), detail=cause.message)
        return HTTPException(UNCLASSIFIED_UPDATE_FAILURE, detail=str(cause or exc))
    if isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND:
        return HTTPException(404, detail=f"{what} not found")
    raise exc
