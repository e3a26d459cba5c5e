"""Mapping Temporal and store failures to the API's 4xx answers."""

from __future__ import annotations

from fastapi import HTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

STATUS_BY_ERROR_TYPE = {
    "Conflict": 409,
    "Forbidden": 403,
    "UnknownEmployee": 422,
    "ValidationError": 422,
    "NotFound": 404,
}


def http_error(exc: Exception, what: str) -> HTTPException:
    """The HTTP error for a failed Update, or re-raise what is not a client's fault."""
    if isinstance(exc, WorkflowUpdateFailedError):
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            status = STATUS_BY_ERROR_TYPE.get(cause.type or "", 409)
            return HTTPException(status, detail=cause.message)
        return HTTPException(409, detail=str(cause or exc))
    if isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND:
        return HTTPException(404, detail=f"{what} not found")
    raise exc
