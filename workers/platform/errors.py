"""Exceptions raised by the Tracker store.

Each class carries ``kind``, its refusal type (``contracts.vocabulary.Refusal``): activities
raise it as a non-retryable ``ApplicationError`` of that type and the API answers it with the
status ``workers.platform.web.errors`` maps it to.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from asyncpg.exceptions import CannotConnectNowError, PostgresConnectionError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
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


_DATA_EXCEPTIONS: dict[str, str] = {
    "22001": "a value is too long for its column",
    "22021": "a text holds a character the database cannot store (NUL)",
    "22P05": "a text holds a character the database cannot store",
    "22003": "a number is out of range",
    "22007": "a date or time is malformed",
    "22008": "a date or time is out of range",
}
"""Readable reasons of the data exceptions (SQLSTATE class 22) memberflow's writes can meet."""

CHECK_VIOLATION = "23514"

_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
"""SQLSTATEs of a database that is gone or not taking connections: connection exceptions,
shutdown, crash, "starting up", too many connections."""


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) means the database is down or did not answer.

    Connecting may fail with the socket's own error (refused, reset) or time out; a stopped
    server times a statement out; a restart invalidates pooled connections. All of them heal
    when the database is back, so the desk answers 503 and activities are retried.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | TimeoutError | PoolTimeoutError):
            return True
        if isinstance(current, DBAPIError):
            if current.connection_invalidated:
                return True
            state = getattr(current.orig, "sqlstate", None)
            if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
                return True
        if isinstance(current, PostgresConnectionError | CannotConnectNowError):
            return True
        current = current.__cause__ or current.__context__
    return False


def permanent_database_error(exc: DBAPIError) -> str | None:
    """Why the database refused a value for good, or None when a retry may succeed.

    Data exceptions (SQLSTATE class 22: too long, NUL, out of range, and asyncpg's own refusal
    of an argument it cannot encode) and check-constraint violations fail the same way on
    every retry. Connection failures, deadlocks, serialization failures and unique violations
    (a concurrent retry that won) may not: None. The reason is built from the SQLSTATE alone,
    because the database's own message and the statement's parameters may quote member data.
    """
    state = getattr(exc.orig, "sqlstate", None)
    if not isinstance(state, str):
        return None
    if state == CHECK_VIOLATION:
        return f"a value breaks a check constraint (SQLSTATE {state})"
    if state.startswith("22"):
        reason = _DATA_EXCEPTIONS.get(state, "the database cannot store a value")
        return f"{reason} (SQLSTATE {state})"
    return None


@contextmanager
def store_refusals() -> Iterator[None]:
    """Turn a permanent store error into a non-retryable ``ApplicationError``.

    A refusal (unknown employee, already completed, bad memo type) keeps its kind; a value the
    database can never store (:func:`permanent_database_error`) becomes a ``ValidationError``.
    Neither heals by retrying, and retrying it for ever would wedge the workflow waiting on the
    activity. Anything else (database unreachable) is raised as it is, so Temporal retries the
    activity until the database is back: an outage delays a step, it never drops one.
    """
    try:
        yield
    except StoreError as exc:
        raise ApplicationError(str(exc), type=exc.kind.value, non_retryable=True) from exc
    except DBAPIError as exc:
        reason = permanent_database_error(exc)
        if reason is None:
            raise
        # "from None": Temporal records the cause chain in history and the SDK logs it, and the
        # driver's text quotes the statement's parameters, which may be member data.
        raise ApplicationError(
            f"the store refused the write: {reason}",
            type=Refusal.VALIDATION.value,
            non_retryable=True,
        ) from None
