"""Retry policies, timeouts and refusals of every workflow, written once.

Store and Kafka writes retry with back-off until they land: each activity is idempotent by a
key the workflow derives, so a retry never writes twice, and a database or broker outage delays
a step instead of dropping it. Refusals (``contracts.vocabulary.Refusal``) are the caller's
answer, not a fault, and are never retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from contracts.vocabulary import REFUSALS, Refusal

WRITE_TIMEOUT = timedelta(seconds=30)
"""One store or Kafka write (an activity attempt)."""

LOOKUP_TIMEOUT = timedelta(seconds=10)
"""A read on an Update's path: the desk is waiting for the answer."""

LOCAL_TIMEOUT = timedelta(seconds=10)
"""A local activity computing from its input alone (time-zone arithmetic)."""

WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=sorted(REFUSALS),
)
"""Writes and lookups: back-off up to 30 s, refusals never retried."""

TIER_STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    # ExtractError and ProgramError are raised by the steps; ValidationError is pydantic's
    # (a malformed activity input), which Temporal names by its class.
    non_retryable_error_types=["ExtractError", "ProgramError", "ValidationError"],
)
"""Tier run steps: a bad extract or program is never retried (the activity raises it as such);
anything else is infrastructure (database, disk, broker) and is retried with back-off, ten
times, because a run's steps are long and an operator re-runs a failed period by hand."""


def refused(message: str, refusal: Refusal) -> ApplicationError:
    """A non-retryable refusal: the API answers it with the status of its type.

    Args:
        message: A readable reason (business keys only, never member data).
        refusal: The refusal type.

    Returns:
        The error to raise from a validator, an Update handler or an activity.
    """
    return ApplicationError(message, type=refusal.value, non_retryable=True)


@contextmanager
def refusals_re_raised() -> Iterator[None]:
    """Re-raise an activity's refusal as the Update's own ``ApplicationError``.

    The API maps the error type to an HTTP status; it only sees the type when the Update fails
    with it directly, not wrapped in an ``ActivityError``.
    """
    try:
        yield
    except ActivityError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type in REFUSALS:
            raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from err
        raise
