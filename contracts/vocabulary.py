"""The words every layer shares, written once: states, roles, refusals and value patterns.

Enums are ``StrEnum`` so they travel as their plain string values in Kafka messages, HTTP
answers, Temporal payloads, search attributes and database columns.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints


class RequestState(StrEnum):
    """Where a Contact Us request is in its life."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    REPLIED = "replied"
    DELETED = "deleted"

    @property
    def is_final(self) -> bool:
        """Replied and deleted requests take no further action."""
        return self in (RequestState.REPLIED, RequestState.DELETED)


class FollowUpState(StrEnum):
    """What is stored about a follow-up: it is either still owed or done."""

    OUTSTANDING = "outstanding"
    COMPLETED = "completed"


class FollowUpStatus(StrEnum):
    """What the desk shows: ``overdue`` is derived (outstanding, due date before today)."""

    OUTSTANDING = "outstanding"
    OVERDUE = "overdue"
    COMPLETED = "completed"


class FollowUpFilter(StrEnum):
    """The follow-up lists the desk can ask for (``outstanding`` includes overdue ones)."""

    OUTSTANDING = "outstanding"
    OVERDUE = "overdue"
    COMPLETED = "completed"
    ALL = "all"


class Role(StrEnum):
    """An employee's role: supervisors may act on anyone's requests and follow-ups."""

    EMPLOYEE = "employee"
    SUPERVISOR = "supervisor"


class Refusal(StrEnum):
    """Why an action was refused: the error type of a non-retryable ``ApplicationError``.

    Workflows and activities raise these, the API maps each to one HTTP status
    (``workers.platform.web.errors``), and retry policies never retry them.
    """

    FORBIDDEN = "Forbidden"
    CONFLICT = "Conflict"
    NOT_FOUND = "NotFound"
    UNKNOWN_EMPLOYEE = "UnknownEmployee"
    VALIDATION = "ValidationError"


REFUSALS: frozenset[str] = frozenset(refusal.value for refusal in Refusal)
"""Every refusal type, as the strings Temporal carries (for ``non_retryable_error_types``)."""

MEMBER_ID_PATTERN = r"^[0-9]{1,12}$"
"""A membership's base account number: 1 to 12 digits."""

MEMBER_SELF_SERVICE = "96"
"""Employee id stamped on changes a member made himself in online banking."""

SYSTEM_EMPLOYEE = "SYSTEM"
"""Employee id stamped on notes written by automated processes (batch, workflows)."""

BusinessKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
"""An id chosen by the sending system (request id, assignment id): safe in a workflow id."""

MemberId = Annotated[str, StringConstraints(pattern=MEMBER_ID_PATTERN)]

EmployeeId = Annotated[str, StringConstraints(min_length=1, max_length=16, strip_whitespace=True)]
"""An employee code as other systems and the desk send it."""

Code2 = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]
"""A 2-character code: Tracker types and memo types."""

Code3 = Annotated[str, StringConstraints(min_length=3, max_length=3)]
"""A 3-character code: tier level codes."""
