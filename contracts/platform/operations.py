"""The operations configuration: departments, Tracker and memo types, employees, policies.

One YAML file (``workers/defaults/operations.yaml`` unless configured otherwise) is validated
into :class:`OpsConfig`. Every cross-reference is checked here, so the rest of the system can
trust that a configured memo type belongs to a configured Tracker type, an employee's supervisor
exists, and so on. Pydantic models only: loading the file is ``workers.platform.operations``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.platform.cross_sales import (
    NeedGroup,
    SalesTask,
    cross_sales_problems,
    cross_sales_refusal,
    default_need_groups,
    default_tasks,
)
from contracts.platform.retention import retention_bounds, retention_problem
from contracts.vocabulary import Code2, NoNul, Role

DepartmentCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")]
EmployeeCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,16}$", strip_whitespace=True)
]
"""An employee id as the operations file and ``memberflow employees add`` accept it."""
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), NoNul()
]
"""A name or description: fits the 80-character columns (``employees.name``), no NUL."""

_SHORT_DURATION = re.compile(r"^(\d+)\s*(s|m|min|h)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600}


DEFAULT_TIME_ZONE = "America/Detroit"
"""The credit union's time zone when the configuration names none."""


class _Strict(BaseModel):
    # A typo in a key must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Department(_Strict):
    """A department a member can address a Contact Us request to (docs/operations.md)."""

    code: DepartmentCode
    label: Label
    default_assignee: EmployeeCode | None = None
    """Employee suggested for the follow-up when a request to this department is answered."""


class TrackerType(_Strict):
    """A 2-character Tracker type (Tool #277; docs/operations.md)."""

    code: Code2
    description: Label
    short_description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
    ]
    single_per_member: bool = False
    """Only one Tracker of this type per member: new notes are appended to it."""
    sales_display: bool = False
    """Shown in the Sales Tracker leads and follow-ups inquiry."""
    cross_sales_required: bool = False
    """Notes need a Need Group and a Task (the Sales / Telemarketing type)."""
    allow_copy: bool = False
    allow_move: bool = False
    allow_purge: bool = False
    retention: Annotated[int, Field(ge=1, le=1200)] | Literal["permanent"] | None = None
    """Months to keep a conversation, or ``"permanent"``; unset means the type's maximum
    (``RETENTION_BOUNDS``). Checked against the bounds by :class:`OpsConfig`."""

    @property
    def retention_months(self) -> int | None:
        """The retention in force, in months; None when conversations are kept for ever."""
        value = self.retention if self.retention is not None else retention_bounds(self.code)[1]
        return None if value == "permanent" else value


class MemoType(_Strict):
    """A 2-character memo code classifying a conversation; belongs to one Tracker type."""

    code: Code2
    description: Label
    tracker_type: Code2


class Employee(_Strict):
    """A staff member who works queues and follow-ups."""

    id: EmployeeCode
    name: Label
    role: Role = Role.EMPLOYEE
    supervisor_id: EmployeeCode | None = None
    departments: list[DepartmentCode] = Field(default_factory=list)
    """Configured department codes whose requests the employee sees and claims (zero or more;
    everyone sees requests addressed to no department)."""


class PrivateContactsConfig(_Strict):
    """Private Contacts (Contact Us) options (docs/operations.md)."""

    enabled: bool = True
    replies_allowed: bool = True
    copy_to_tracker: bool = True
    tracker_type: Code2 = "PC"
    memo_type: Code2 = "PC"
    """Memo type of the conversation holding one request/reply pair."""
    submit_response_text: Annotated[str, StringConstraints(max_length=500)] = (
        "Thank you. Your message has been sent securely to the credit union; "
        "a reply will appear in your secure messages."
    )
    claim_timeout: timedelta = timedelta(minutes=30)
    notify_new_requests: bool = False
    """Publish a notification for each new request (staff are otherwise told to poll)."""

    @field_validator("claim_timeout", mode="before")
    @classmethod
    def _short_duration(cls, value: object) -> object:
        # Operators write "30m" or "2h"; ISO 8601 ("PT30M") and plain seconds also work.
        if isinstance(value, str) and (match := _SHORT_DURATION.match(value.strip())):
            amount, unit = int(match.group(1)), match.group(2)
            return timedelta(seconds=amount * _UNIT_SECONDS[unit])
        return value

    @model_validator(mode="after")
    def _positive_timeout(self) -> PrivateContactsConfig:
        if self.claim_timeout <= timedelta(0):
            raise ValueError("claim_timeout must be positive")
        return self


class FollowUpPolicy(_Strict):
    """How follow-ups remind and escalate."""

    remind_on_due_date: bool = True
    overdue_escalation_days: Annotated[int, Field(ge=0, le=365)] = 1
    """Days past the due date after which an outstanding follow-up escalates."""
    escalate_to_supervisor: bool = True


def default_departments() -> list[Department]:
    """The default department list (docs/operations.md, 'Operations file')."""
    return [
        Department(code="LOANS", label="Loan department"),
        Department(code="DEPOSITS", label="Deposits and savings"),
        Department(code="CARDS", label="Cards"),
        Department(code="GENERAL", label="General member service"),
    ]


def default_tracker_types() -> list[TrackerType]:
    """The system Tracker types and a Member Services and Private Contacts type.

    Listed in docs/operations.md, 'Operations file'.
    """

    def tt(code: str, desc: str, short: str, **flags: object) -> TrackerType:
        return TrackerType.model_validate(
            {"code": code, "description": desc, "short_description": short, **flags}
        )

    return [
        tt("XX", "Collection Card", "Collections", single_per_member=True, retention="permanent"),
        tt("AT", "Audit Tracker", "Audit", single_per_member=True, retention=84),
        tt("NT", "Notice Tracker", "Notices", single_per_member=True, retention=120),
        tt(
            "ST",
            "Sales Tracker",
            "Sales",
            single_per_member=True,
            sales_display=True,
            cross_sales_required=True,
            retention=36,
        ),
        tt(
            "MS",
            "Member Services",
            "Member Svc",
            allow_copy=True,
            allow_move=True,
            allow_purge=True,
            retention="permanent",
        ),
        tt(
            "PC",
            "Private Contacts",
            "Private Cont",
            single_per_member=True,
            allow_copy=True,
            allow_move=True,
            retention="permanent",
        ),
    ]


def default_memo_types() -> list[MemoType]:
    """Memo codes seen in the public material plus the Private Contacts ones.

    Listed in docs/operations.md, 'Operations file'.
    """
    rows = [
        ("PC", "Private Contact request and reply", "PC"),
        ("RE", "Private Contact member reply", "PC"),
        ("CW", "Code word conversation", "AT"),
        ("EI", "Invalid email address", "AT"),
        ("PP", "Promise to pay", "XX"),
        ("CL", "Collection contact", "XX"),
        ("NT", "Notice sent", "NT"),
        ("SL", "Sales lead", "ST"),
        ("MS", "Member service note", "MS"),
        ("FU", "Follow-up note", "MS"),
    ]
    return [MemoType(code=c, description=d, tracker_type=t) for c, d, t in rows]


def _duplicate_problems(name: str, keys: list[tuple[str, str]]) -> list[str]:
    """One message per repeated entry, naming its index and code: ``name[i] (CODE): ...``."""
    seen: set[str] = set()
    problems = []
    for i, (label, key) in enumerate(keys):
        if key in seen:
            problems.append(f"{name}[{i}] ({label}): duplicate code")
        seen.add(key)
    return problems


class OpsConfig(_Strict):
    """The whole, cross-checked operations configuration."""

    # The credit union's time zone: due dates, "overdue" and "today" are judged in it.
    time_zone: str = DEFAULT_TIME_ZONE
    departments: list[Department] = Field(default_factory=default_departments)
    tracker_types: list[TrackerType] = Field(default_factory=default_tracker_types)
    memo_types: list[MemoType] = Field(default_factory=default_memo_types)
    employees: list[Employee] = Field(default_factory=list)
    private_contacts: PrivateContactsConfig = Field(default_factory=PrivateContactsConfig)
    follow_ups: FollowUpPolicy = Field(default_factory=FollowUpPolicy)
    need_groups: list[NeedGroup] = Field(default_factory=default_need_groups)
    tasks: list[SalesTask] = Field(default_factory=default_tasks)
    """Cross-sales Tasks; each names one of ``need_groups``."""

    @model_validator(mode="after")
    def _cross_checks(self) -> OpsConfig:
        problems: list[str] = []
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"time_zone: {self.time_zone!r} is not an IANA time zone")
        for name, keys in (
            ("departments", [(d.code, d.code) for d in self.departments]),
            ("tracker_types", [(t.code, t.code) for t in self.tracker_types]),
            ("employees", [(e.id, e.id) for e in self.employees]),
            # Memo codes are unique within their Tracker type (the same code may serve two types).
            ("memo_types", [(m.code, f"{m.tracker_type}/{m.code}") for m in self.memo_types]),
        ):
            problems.extend(_duplicate_problems(name, keys))
        problems.extend(cross_sales_problems(self.need_groups, self.tasks))

        for i, tracker_type in enumerate(self.tracker_types):
            if problem := retention_problem(tracker_type.code, tracker_type.retention):
                problems.append(f"tracker_types[{i}] ({tracker_type.code}): {problem}")

        types = {t.code for t in self.tracker_types}
        staff = {e.id for e in self.employees}
        for i, memo in enumerate(self.memo_types):
            if memo.tracker_type not in types:
                problems.append(
                    f"memo_types[{i}] ({memo.code}): tracker_type {memo.tracker_type} "
                    "is not a configured Tracker type"
                )
        for i, emp in enumerate(self.employees):
            if emp.supervisor_id is None:
                continue
            if emp.supervisor_id not in staff:
                problems.append(
                    f"employees[{i}] ({emp.id}): supervisor {emp.supervisor_id} unknown"
                )
            elif emp.supervisor_id == emp.id:
                problems.append(f"employees[{i}] ({emp.id}): cannot supervise themself")
        codes = {d.code for d in self.departments}
        for i, emp in enumerate(self.employees):
            problems.extend(
                f"employees[{i}] ({emp.id}): department {code} is not a configured department"
                for code in emp.departments
                if code not in codes
            )
        for i, dept in enumerate(self.departments):
            if dept.default_assignee is not None and dept.default_assignee not in staff:
                problems.append(
                    f"departments[{i}] ({dept.code}): default_assignee "
                    f"{dept.default_assignee} is not a configured employee"
                )

        pc = self.private_contacts
        if pc.tracker_type not in types:
            problems.append(
                f"private_contacts: tracker_type {pc.tracker_type} is not a configured Tracker type"
            )
        elif not any(
            m.code == pc.memo_type and m.tracker_type == pc.tracker_type for m in self.memo_types
        ):
            problems.append(
                f"private_contacts: memo_type {pc.memo_type} is not a memo type of "
                f"Tracker type {pc.tracker_type}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def tracker_type(self, code: str) -> TrackerType | None:
        """The Tracker type with this code, or None."""
        return next((t for t in self.tracker_types if t.code == code), None)

    def memo_type(self, tracker_type: str, code: str) -> MemoType | None:
        """The memo type ``code`` configured under ``tracker_type``, or None."""
        return next(
            (m for m in self.memo_types if m.code == code and m.tracker_type == tracker_type), None
        )

    def cross_sales_refusal(self, need_group: str | None, task: str | None) -> str | None:
        """Why ``(need_group, task)`` cannot go on a cross-sales note, or None when it can."""
        return cross_sales_refusal(self.need_groups, self.tasks, need_group, task)

    def department(self, code: str) -> Department | None:
        """The department with this code, or None."""
        return next((d for d in self.departments if d.code == code), None)

    def employee(self, employee_id: str) -> Employee | None:
        """The configured employee with this id, or None."""
        return next((e for e in self.employees if e.id == employee_id), None)

    def is_single_per_member(self, tracker_type: str) -> bool:
        """Whether a member has at most one Tracker of this type.

        The Private Contacts type always is: every request/reply pair becomes its own
        conversation in the member's one Tracker of that type (docs/operations.md).
        """
        found = self.tracker_type(tracker_type)
        return tracker_type == self.private_contacts.tracker_type or (
            found is not None and found.single_per_member
        )
