"""What the bridge accepts and what it dead-letters, with which reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.contacts.messages import CONTACT_SUBMITTED
from workers.assignments.intake import parse_assignment
from workers.contacts.intake import parse_contact
from workers.platform.intake import Rejected

pytestmark = pytest.mark.unit

DEPARTMENTS = {"LOANS", "DEPOSITS", "CARDS", "GENERAL"}


def contact_event(**data_overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "request_id": "req-1",
        "member_id": "123456",
        "channel": "online",
        "subject": "Car loan payoff",
        "message": "What is my payoff amount?",
        "department": "LOANS",
        "submitted_at": "2026-11-20T14:03:00Z",
    }
    data.update(data_overrides)
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/channels/its-me-247",
        "type": CONTACT_SUBMITTED,
        "time": "2026-11-20T14:03:01Z",
        "datacontenttype": "application/json",
        "subject": "123456",
        "data": data,
    }


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def test_valid_contact_is_accepted_and_subject_trimmed() -> None:
    accepted = parse_contact(encode(contact_event(subject="  Payoff  ")), DEPARTMENTS)
    assert accepted.data.request_id == "req-1"
    assert accepted.data.subject == "Payoff"
    assert accepted.event.id == "evt-1"


def test_unknown_extra_attributes_and_fields_are_ignored() -> None:
    event = contact_event(favourite_colour="blue")
    event["traceparent"] = "00-abc"
    assert parse_contact(encode(event), DEPARTMENTS).data.member_id == "123456"


def test_phone_defaults_callback_method_to_call() -> None:
    accepted = parse_contact(encode(contact_event(callback_phone="6165551234")), DEPARTMENTS)
    assert accepted.data.callback_method == "call"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"not json{", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not an object"),
        (None, "tombstone"),
    ],
)
def test_undecodable_values_are_rejected(value: bytes | None, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        parse_contact(value, DEPARTMENTS)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"request_id": "has space"}, "data.request_id"),
        ({"request_id": "x" * 65}, "data.request_id"),
        ({"member_id": "12345678901234"}, "data.member_id"),
        ({"member_id": "abc"}, "data.member_id"),
        ({"channel": "fax"}, "data.channel"),
        ({"subject": "   "}, "data.subject"),
        ({"subject": "s" * 61}, "data.subject"),
        ({"message": ""}, "data.message"),
        ({"message": "m" * 2001}, "data.message"),
        ({"callback_phone": "12345"}, "callback_phone"),
        ({"callback_method": "fax"}, "data.callback_method"),
        ({"submitted_at": "yesterday"}, "data.submitted_at"),
        ({"submitted_at": "2026-11-20T14:03:00"}, "data.submitted_at"),
        # Values PostgreSQL refuses: they would fail the request's first activity for ever.
        ({"message": "Please call\x00 me"}, "data.message"),
        ({"subject": "Card\x00"}, "data.subject"),
        ({"submitted_at": "0001-01-01T00:00:00+05:00"}, "data.submitted_at"),
        ({"message": "Please call\ud800 me"}, "data.message"),
    ],
)
def test_invalid_data_is_rejected_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(Rejected, match=field.replace(".", r"\.")) as caught:
        parse_contact(encode(contact_event(**overrides)), DEPARTMENTS)
    assert caught.value.reason.startswith(f"invalid {CONTACT_SUBMITTED} data")


def test_reason_never_quotes_the_members_message() -> None:
    secret = "my SSN is 123-45-6789" + "x" * 2000
    with pytest.raises(Rejected) as caught:
        parse_contact(encode(contact_event(message=secret)), DEPARTMENTS)
    assert "SSN" not in caught.value.reason


def test_unknown_department_is_rejected() -> None:
    with pytest.raises(Rejected, match="department 'MORTGAGE'"):
        parse_contact(encode(contact_event(department="MORTGAGE")), DEPARTMENTS)


def test_wrong_event_type_is_rejected() -> None:
    event = contact_event()
    event["type"] = "cu.something.else.v1"
    with pytest.raises(Rejected, match="unknown event type"):
        parse_contact(encode(event), DEPARTMENTS)


def test_missing_envelope_attribute_is_rejected() -> None:
    event = contact_event()
    del event["specversion"]
    with pytest.raises(Rejected, match=r"not a CloudEvent 1\.0: specversion"):
        parse_contact(encode(event), DEPARTMENTS)


def test_assignment_requires_its_fields() -> None:
    event = contact_event()
    event["type"] = "cu.followup.assigned.v1"
    with pytest.raises(Rejected, match=r"data\.assignment_id"):
        parse_assignment(encode(event))


def assignment_event(**data_overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "assignment_id": "asg-1",
        "member_id": "909090",
        "tracker_type": "XX",
        "memo_type": "PP",
        "note": "Member promised to pay on Friday.",
        "assignee_employee_id": "JD",
        "assigned_by": "XTENSION",
        "follow_up_on": "2026-11-25",
    }
    data.update(data_overrides)
    event = contact_event()
    event["type"] = "cu.followup.assigned.v1"
    event["data"] = data
    return event


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"need_group": "N" * 17}, "data.need_group"),
        ({"task": "T" * 17}, "data.task"),
        ({"note": "Promised to pay\x00 on Friday"}, "data.note"),
        ({"assigned_by": "XTEN\x00SION"}, "data.assigned_by"),
        ({"assigned_by": "P" * 33}, "data.assigned_by"),
        ({"follow_up_on": "9999-12-31"}, "data.follow_up_on"),
        ({"follow_up_on": "0001-01-01"}, "data.follow_up_on"),
    ],
)
def test_assignment_values_the_store_refuses_are_rejected(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(Rejected, match=field.replace(".", r"\.")) as caught:
        parse_assignment(encode(assignment_event(**overrides)))
    assert "Promised to pay" not in caught.value.reason


def test_assignment_with_codes_in_their_columns_is_accepted() -> None:
    accepted = parse_assignment(encode(assignment_event(need_group="N" * 16, task="T" * 16)))
    assert (accepted.data.need_group, accepted.data.task) == ("N" * 16, "T" * 16)
