"""Exceptions raised by the Tracker store.

Each class carries ``kind``, the error type the API and workflows map to an answer
(``NotFound`` -> 404, ``Conflict`` -> 409, ``UnknownEmployee`` / ``ValidationError`` -> 422).
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every store error."""

    kind = "StoreError"


class NotFoundError(StoreError):
    """The Tracker, conversation, follow-up or request does not exist."""

    kind = "NotFound"


class ConflictError(StoreError):
    """The write clashes with the current state (already completed, replied, ...)."""

    kind = "Conflict"


class IdempotencyKeyReusedError(ConflictError):
    """A key already used for a different write (a caller bug, never a retry)."""


class UnknownEmployeeError(StoreError):
    """An employee id that is not in the employees table."""

    kind = "UnknownEmployee"

    def __init__(self, employee_id: str) -> None:
        super().__init__(f"unknown employee {employee_id}")
        self.employee_id = employee_id


class InvalidInputError(StoreError):
    """A value the store refuses (bad role, unknown state, ...)."""

    kind = "ValidationError"


class InvalidTrackerWriteError(InvalidInputError):
    """A conversation breaks the configured Tracker rules."""


class UnknownTrackerTypeError(InvalidTrackerWriteError):
    """The Tracker type is not configured."""


class MemoTypeMismatchError(InvalidTrackerWriteError):
    """The memo type is not configured under the Tracker type."""


class CrossSalesRequiredError(InvalidTrackerWriteError):
    """The Tracker type (the Sales type) needs a Need Group and a Task on every note."""
