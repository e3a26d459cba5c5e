"""The one table from failures to HTTP statuses: refusals, Temporal outages and deadlines."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.service import RPCError, RPCStatusCode

from workers.platform.web.errors import http_error

pytestmark = pytest.mark.unit


def activity_failure(cause: ApplicationError) -> ActivityError:
    """An activity's failure as a workflow sees it: the refusal is its cause."""
    error = ActivityError(
        "Activity task failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="deliver_reply",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    error.__cause__ = cause
    return error


def test_temporal_unavailable_is_503() -> None:
    error = http_error(RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""), "request x")
    assert error.status_code == 503
    assert "Temporal" in str(error.detail)


@pytest.mark.parametrize(
    "exc",
    [
        WorkflowUpdateRPCTimeoutOrCancelledError(),
        RPCError("deadline", RPCStatusCode.DEADLINE_EXCEEDED, b""),
        TimeoutError(),
    ],
)
def test_an_update_past_its_deadline_is_504(exc: Exception) -> None:
    error = http_error(exc, "contact request REQ-1")
    assert error.status_code == 504
    assert "contact request REQ-1" in str(error.detail)


def test_an_activitys_refusal_keeps_its_status_when_the_update_fails_with_it() -> None:
    # ContactRequestWorkflow lets an activity's failure end the Update as it is.
    refusal = ApplicationError(
        "the store refused the write", type="ValidationError", non_retryable=True
    )
    error = http_error(WorkflowUpdateFailedError(activity_failure(refusal)), "request x")
    assert (error.status_code, error.detail) == (422, "the store refused the write")


def test_an_activitys_unexpected_error_text_is_not_passed_on() -> None:
    # pydantic's ValidationError travels under the same type name, but quotes its input.
    leaked = ApplicationError("1 validation error: input_value='PIN 4321'", type="ValidationError")
    error = http_error(WorkflowUpdateFailedError(activity_failure(leaked)), "request x")
    assert error.status_code == 409
    assert "PIN" not in str(error.detail)


def test_unknown_workflow_is_404() -> None:
    error = http_error(RPCError("not found", RPCStatusCode.NOT_FOUND, b""), "follow-up f1")
    assert (error.status_code, error.detail) == (404, "follow-up f1 not found")
