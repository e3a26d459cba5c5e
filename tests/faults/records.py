"""The records a round publishes: valid Contact Us requests and assignments, and known bad ones.

Every record has a key of its own (a member id nobody else uses), so a dead letter, which keeps
the original key, is matched to the record it came from without reading its value. Texts are
made up; none of them is printed by the harness.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from contracts.assignments.messages import FOLLOWUP_ASSIGNED
from tests.kafka_helpers import contact_event
from workers.platform.operations import load_ops_config

Inbound = Literal["contact", "assignment"]


def _desk_departments() -> tuple[str | None, ...]:
    """The departments Sarah (SR, the load's desk) works in the shipped operations file, and
    none: a request of another department would wait for someone else (docs/security.md)."""
    sarah = load_ops_config(None).employee("SR")
    assert sarah is not None, "the shipped operations file lists SR"
    return (*sarah.departments, None)


DEPARTMENTS = _desk_departments()


@dataclass(frozen=True)
class Outbound:
    """One record to publish and what the system must make of it.

    Attributes:
        inbound: Which inbound topic it goes to.
        key: The record key (a member id of its own).
        value: The record value (``None``: a tombstone).
        business_id: ``request_id`` or ``assignment_id`` of a valid record, else ``None``.
        label: ``valid`` or the kind of defect, e.g. ``nul-message``.
        reason: For an invalid record, text its dead letter's ``x-error`` must contain.
        follow_up: For a valid request: whether the desk's reply asks for a follow-up.
    """

    inbound: Inbound
    key: bytes
    value: bytes | None
    business_id: str | None
    label: str
    reason: str | None = None
    follow_up: bool = False

    @property
    def member_id(self) -> str:
        """The member id the key carries."""
        return self.key.decode()

    @property
    def valid(self) -> bool:
        """Whether the record must start a workflow (rather than be dead-lettered)."""
        return self.business_id is not None


def _encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def _contact(member: str, request_id: str, **overrides: Any) -> dict[str, Any]:
    event = contact_event(request_id=request_id, member_id=member, department=None)
    event["data"].update(overrides)
    return event


def _assignment(
    member: str, assignment_id: str, drop: str | None = None, **overrides: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "assignment_id": assignment_id,
        "member_id": member,
        "tracker_type": "MS",
        "memo_type": "FU",
        "note": "Member asked at the branch about a CD rate; please call back.",
        "assignee_employee_id": "JD",
        "assigned_by": "XTENSION",
        "follow_up_on": (date.today() + timedelta(days=5)).isoformat(),
    }
    data.update(overrides)
    event = contact_event(request_id=assignment_id, member_id=member)
    event["type"] = FOLLOWUP_ASSIGNED
    event["id"] = f"evt-{assignment_id}"
    event["data"] = {k: v for k, v in data.items() if k != drop}
    return event


# The known-invalid Contact Us records: (label, value from member and id, expected reason).
INVALID_CONTACTS: list[tuple[str, Callable[[str, str], bytes | None], str]] = [
    ("not-json", lambda m, i: b'{"specversion": "1.0", "id": ', "value is not JSON"),
    ("tombstone", lambda m, i: None, "tombstone"),
    (
        "wrong-type",
        lambda m, i: _encode(_contact(m, i) | {"type": "cu.contact.withdrawn.v1"}),
        "unknown event type",
    ),
    ("bad-member-id", lambda m, i: _encode(_contact(m, i, member_id="12ab")), "data.member_id"),
    ("unknown-department", lambda m, i: _encode(_contact(m, i, department="MARS")), "department"),
    # PostgreSQL cannot store NUL: accepted, it would fail the request's first activity for ever.
    (
        "nul-message",
        lambda m, i: _encode(_contact(m, i, message="Please call\x00 me")),
        "data.message",
    ),
]

# The known-invalid assignments.
INVALID_ASSIGNMENTS: list[tuple[str, Callable[[str, str], bytes | None], str]] = [
    (
        "unknown-tracker-type",
        lambda m, i: _encode(_assignment(m, i, tracker_type="ZZ")),
        "Tracker type ZZ",
    ),
    (
        "unknown-assignee",
        lambda m, i: _encode(_assignment(m, i, assignee_employee_id="NOBODY")),
        "assignee_employee_id",
    ),
    (
        "missing-assignment-id",
        lambda m, i: _encode(_assignment(m, i, drop="assignment_id")),
        "data.assignment_id",
    ),
    (
        "nul-note",
        lambda m, i: _encode(_assignment(m, i, note="Promised to pay\x00 on Friday")),
        "data.note",
    ),
]


class RecordFactory:
    """Unique member ids and business ids for every round of one run."""

    def __init__(self) -> None:
        self._serial = 0

    def _member(self, round_no: int) -> str:
        self._serial += 1
        # 10 digits: "9", the round, a run-wide serial; never a real member, never reused.
        return f"9{round_no:02d}{self._serial:07d}"

    def round_records(
        self, round_no: int, requests: int, assignments: int, invalid_sets: int
    ) -> list[Outbound]:
        """The records of one round in publishing order: invalid ones spread among valid ones."""
        tag = f"r{round_no:02d}"
        valid = [self._valid_contact(tag, round_no, n) for n in range(requests)]
        extra = [self._valid_assignment(tag, round_no, n) for n in range(assignments)]
        bad = [r for s in range(invalid_sets) for r in self._invalid(tag, round_no, s)]
        return list(_interleave(valid, extra, bad))

    def _valid_contact(self, tag: str, round_no: int, n: int) -> Outbound:
        member = self._member(round_no)
        request_id = f"flt-{tag}-{n:05d}"
        department = DEPARTMENTS[n % len(DEPARTMENTS)]
        event = contact_event(request_id=request_id, member_id=member, department=department)
        value = _encode(event)
        # Every other reply asks for a follow-up, so both reply paths run under every fault.
        return Outbound("contact", member.encode(), value, request_id, "valid", None, n % 2 == 0)

    def _valid_assignment(self, tag: str, round_no: int, n: int) -> Outbound:
        member = self._member(round_no)
        assignment_id = f"asg-{tag}-{n:05d}"
        overrides = {"assignee_employee_id": "SR"} if n % 2 else {}
        value = _encode(_assignment(member, assignment_id, **overrides))
        return Outbound("assignment", member.encode(), value, assignment_id, "valid")

    def _invalid(self, tag: str, round_no: int, s: int) -> Iterator[Outbound]:
        for inbound, kinds in (("contact", INVALID_CONTACTS), ("assignment", INVALID_ASSIGNMENTS)):
            for label, build, reason in kinds:
                member = self._member(round_no)
                ident = f"bad-{tag}-{s:03d}-{label}"
                yield Outbound(
                    inbound,  # type: ignore[arg-type]
                    member.encode(),
                    build(member, ident),
                    None,
                    label,
                    reason,
                )


def _interleave(*groups: list[Outbound]) -> Iterator[Outbound]:
    """Merge the groups so that each is spread evenly over the whole sequence."""
    total = sum(len(g) for g in groups)
    placed = sorted(
        ((i + 0.5) / len(g) * total, n, record)
        for n, g in enumerate(groups)
        for i, record in enumerate(g)
    )
    for _, _, record in placed:
        yield record
