"""The words every layer shares, written once: states, roles, refusals and value patterns.

Enums are ``StrEnum`` so they travel as their plain string values in Kafka messages, HTTP
answers, Temporal payloads, search attributes and database columns.

The value types at the end are the store's column rules (lengths, characters, date ranges)
spelled once; Kafka messages, HTTP bodies and workflow inputs reuse them, so a value the edge
accepts is one PostgreSQL stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema


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
    """An employee's role; what each may do is ``contracts.platform.permissions.RULES``.

    ``employee`` works requests and follow-ups of their departments; ``supervisor`` also acts
    on their reports' and their departments' work and reads reports; ``operator`` runs tier
    scoring; ``admin`` manages employees (``memberflow employees``).
    """

    EMPLOYEE = "employee"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"
    ADMIN = "admin"


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

# --- storable values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoNul:
    """``Annotated`` marker: a string without NUL (U+0000) characters.

    PostgreSQL text refuses NUL ("invalid byte sequence for encoding UTF8: 0x00"), so a NUL that
    got past the edge would fail an activity on every retry. Unpaired surrogates, the only other
    characters UTF-8 cannot hold, are already refused by pydantic's ``str``. The reason names
    the rule, never the value (it may be member data).
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """The inner string schema, then the NUL check."""
        return core_schema.no_info_after_validator_function(_refuse_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The rule in exported JSON Schemas too (a stricter pattern, if any, stays)."""
        json_schema = handler(schema)
        json_schema.setdefault("pattern", "^[^\\u0000]*$")
        return json_schema


def _refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return value


@dataclass(frozen=True)
class Between:
    """``Annotated`` marker: a date (or a datetime's date as written) within ``low``..``high``.

    Dates far from today are typos, and at the ends of the calendar the follow-up deadline
    arithmetic (a due date plus up to 365 days, in a time zone) would overflow.
    """

    low: date
    high: date

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """The inner date or datetime schema, then the range check."""
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """A date's range in exported JSON Schemas (``formatMinimum`` / ``formatMaximum``)."""
        json_schema = handler(schema)
        if json_schema.get("format") == "date":
            json_schema["formatMinimum"] = self.low.isoformat()
            json_schema["formatMaximum"] = self.high.isoformat()
        return json_schema

    def _check(self, value: date) -> date:
        # The date as written, not converted to UTC: converting year 1 or 9999 can overflow,
        # and a day either way does not matter at these bounds.
        day = value.date() if isinstance(value, datetime) else value
        if not self.low <= day <= self.high:
            raise ValueError(f"must be between {self.low.isoformat()} and {self.high.isoformat()}")
        return value


EARLIEST_DUE_DATE = date(2000, 1, 1)
"""The earliest due date accepted (assignments may be back-dated, not by decades)."""

LATEST_DUE_DATE = date(2099, 12, 31)
"""The latest due date accepted: far enough for any promise, far from the calendar's end."""

DueDate = Annotated[date, Between(EARLIEST_DUE_DATE, LATEST_DUE_DATE)]
"""A follow-up's due date, ``EARLIEST_DUE_DATE``..``LATEST_DUE_DATE``."""

EventTime = Annotated[AwareDatetime, Between(EARLIEST_DUE_DATE, LATEST_DUE_DATE)]
"""When something happened (a submission), with a UTC offset, in the same span as due dates."""

MEMBER_ID_PATTERN = r"^[0-9]{1,12}$"
"""A membership's base account number: 1 to 12 digits."""

MEMBER_SELF_SERVICE = "96"
"""Employee id stamped on changes a member made himself in online banking."""

SYSTEM_EMPLOYEE = "SYSTEM"
"""Employee id stamped on notes written by automated processes (batch, workflows)."""

BusinessKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
"""An id chosen by the sending system (request id, assignment id): safe in a workflow id."""

MemberId = Annotated[str, StringConstraints(pattern=MEMBER_ID_PATTERN)]

EmployeeId = Annotated[
    str, StringConstraints(min_length=1, max_length=16, strip_whitespace=True), NoNul()
]
"""An employee code as other systems and the desk send it (``employees.id``, 16 characters)."""

Code2 = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]
"""A 2-character code: Tracker types and memo types."""

AccountSuffix = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
"""The account a Tracker attaches to: 3 digits, ``000`` the membership's base share."""

Code3 = Annotated[str, StringConstraints(min_length=3, max_length=3)]
"""A 3-character code: tier level codes."""

NOTE_MAX = 4000
"""Longest note or reply the desk and other systems may send (a Tracker note holds up to 10,000
characters, and a copied request adds the member's message and a header to the reply)."""

NoteText = Annotated[str, StringConstraints(min_length=1, max_length=NOTE_MAX), NoNul()]
"""A note or a reply: 1-4000 characters, no NUL (PostgreSQL ``text`` refuses it)."""


def _blank_is_none(value: object) -> object:
    # An empty follow-up note has always meant "no note": callers (and Update inputs already in
    # workflow histories) keep sending one.
    return None if value == "" else value


OptionalNote = Annotated[NoteText | None, BeforeValidator(_blank_is_none)]
"""An optional note where an empty string means none (a reply's follow-up note)."""

MessageText = Annotated[str, StringConstraints(min_length=1, max_length=2000), NoNul()]
"""A member's Contact Us message: 1-2000 characters, no NUL."""

SubjectLine = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul()
]
"""A Contact Us subject: 1-60 characters after trimming (``contact_requests.subject``), no NUL."""

ShortCode16 = Annotated[str, StringConstraints(min_length=1, max_length=16), NoNul()]
"""A code stored in a 16-character column: Need Group, Task, department."""

PartnerCode = Annotated[str, StringConstraints(min_length=1, max_length=32), NoNul()]
"""Who assigned or wrote something: an employee id or a partner code (32-character columns)."""

RecordId = Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul()]
"""A record id named in a path (a follow-up's id): what a 64-character key column can hold."""
