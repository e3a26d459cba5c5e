"""Exceptions raised by the Tracker store.

Each class carries ``kind``, its refusal type (``contracts.vocabulary.Refusal``): activities
raise it as a non-retryable ``ApplicationError`` of that type and the API answers it with the
status ``workers.platform.web.errors`` maps it to.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError

from contracts.vocabulary import Refusal


class StoreError(Exception):
    """Base class of every store error."""

    kind: Refusal = Refusal.VALIDATION


class NotFoundError(StoreError):
    """The Tracker, conversation, follow-up or request does not exist."""

    kind = Refusal.NOT_FOUND


class ConflictError(StoreError):
    """The write clashes with the current state (already completed, replied, ...)."""

    kind = Refusal.CONFLICT


class IdempotencyKeyReusedError(ConflictError):
    """A key already used for a different write (a caller bug, never a retry)."""


class UnknownEmployeeError(StoreError):
    """An employee id that is not in the employees table."""

    kind = Refusal.UNKNOWN_EMPLOYEE

    def __init__(self, employee_id: str) -> None:
        super().__init__(f"unknown employee {employee_id}")
        self.employee_id = employee_id


class InvalidInputError(StoreError):
    """A value the store refuses (bad role, unknown state, ...)."""

    kind = Refusal.VALIDATION


class InvalidTrackerWriteError(InvalidInputError):
    """A conversation breaks the configured Tracker rules."""


class UnknownTrackerTypeError(InvalidTrackerWriteError):
    """The Tracker type is not configured."""


class MemoTypeMismatchError(InvalidTrackerWriteError):
    """The memo type is not configured under the Tracker type."""


class CrossSalesRequiredError(InvalidTrackerWriteError):
    """The Tracker type (the Sales type) needs a Need Group and a Task on every note."""


@contextmanager
def store_refusals() -> Iterator[None]:
    """Turn a store refusal into a non-retryable ``ApplicationError`` of the same kind.

    A refusal (unknown employee, already completed, bad memo type) will not heal by retrying;
    anything else (database unreachable) is raised as it is, so Temporal retries the activity.
    """
    try:
        yield
    except StoreError as exc:
        raise ApplicationError(str(exc), type=exc.kind.value, non_retryable=True) from exc
