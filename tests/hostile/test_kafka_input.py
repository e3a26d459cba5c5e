"""Hostile records on both inbound topics, on real servers: each is dead-lettered with a reason
that names the field (never the value) and starts nothing, or, where the contract allows it, is
stored and shown exactly as sent.

All records of this module go to partition 0 of fresh topics, in table order, behind one key,
then a valid sentinel; once the sentinel's workflow exists every record before it was handled.
Each case is then checked on its own (its dead letter found by ``x-original-offset``).

Covered elsewhere (not repeated here):

| case | test |
|---|---|
| NUL in a contact's message, integration | tests/integration/test_desk_failures.py::test_a_nul_in_a_contact_message_is_dead_lettered |
| not JSON / member_id pattern, integration | tests/integration/test_bridge.py::test_bad_records_are_dead_lettered_and_the_rest_still_flows |
| nested 100,000 deep, 5,000-digit number | tests/integration/test_bridge.py::test_unparseable_records_are_dead_lettered_and_the_records_behind_them_start |
| same record twice | tests/integration/test_bridge.py::test_same_record_twice_gives_one_workflow_and_one_row |
| every data field rule, unit | tests/unit/test_intake.py |
"""  # noqa: E501

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from contracts.ids import assignment_workflow_id, contact_request_workflow_id
from tests.hostile.checks import ASSIGNEE, assignment_event, count, new_member, workflow_exists
from tests.integration.conftest import running_app
from tests.integration.test_bridge import produce_to, wait_for
from tests.kafka_helpers import consume, contact_event, encoded
from workers.app.api import create_app
from workers.platform.employees import add_employee
from workers.platform.kafka_reader import Record
from workers.platform.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

KEY = b"hostile"
BIDI = "Refund \u202egnp.exe\u202c please"
"""A right-to-left override: the contract does not forbid it, so it must come back intact."""
CONTROL = "Line one\x07\x1b[31m\ttabbed\r\nline two"
"""Control characters other than NUL: allowed by the contract, stored as sent."""


@dataclass(frozen=True)
class Dead:
    """A record that must be dead-lettered, and what must not have happened."""

    name: str
    value: bytes
    reason: str
    """A fragment of ``x-error``."""
    business_id: str
    """Its request or assignment id: no workflow may exist for it."""
    member_id: str
    """Its member: no row (request, Tracker) may exist for them."""
    secret: str = "\x00none"
    """A piece of the value that ``x-error`` must not quote."""


def _contact(name: str, reason: str, secret: str = "", **data: Any) -> Dead:
    """A contact submission with ``data`` fields replaced."""
    event = contact_event(member_id=new_member())
    event["data"].update(data)
    ids = event["data"]["request_id"], event["subject"]
    return Dead(name, encoded(event), reason, *ids, secret or "\x00none")


def _contact_envelope(name: str, reason: str, **attributes: Any) -> Dead:
    """A contact submission with envelope attributes replaced (None: left out)."""
    event = contact_event(member_id=new_member())
    ids = event["data"]["request_id"], event["subject"]
    event.update(attributes)
    for attribute in [k for k, v in attributes.items() if v is None]:
        del event[attribute]
    return Dead(name, encoded(event), reason, *ids)


def _raw(name: str, reason: str, template: bytes) -> Dead:
    """Bytes that never parse as a CloudEvent, with an id of their own in them."""
    rid = f"raw-{uuid.uuid4().hex[:12]}"
    return Dead(name, template.replace(b"RID", rid.encode()), reason, rid, new_member())


def _assign(name: str, reason: str, secret: str = "", **data: Any) -> Dead:
    """An assignment with ``data`` fields replaced."""
    event = assignment_event(**data)
    ids = event["data"]["assignment_id"], event["subject"]
    return Dead(name, encoded(event), reason, *ids, secret or "\x00none")


def _assign_as_contact_type() -> Dead:
    """An assignment whose ``type`` is the contact submission's, on the assignments topic."""
    event = assignment_event()
    event["type"] = "cu.contact.submitted.v1"
    ids = event["data"]["assignment_id"], event["subject"]
    return Dead("assign-wrong-type", encoded(event), "unknown event type", *ids)


MEGABYTE = "A" * 1_000_000
DEEP = b"[" * 50_000 + b"]" * 50_000
CONTACT_DEAD = [
    _raw("not-json", "not JSON", b'{"data": {"request_id": "RID", '),
    _raw("not-utf8", "not UTF-8", b'{"data": {"request_id": "RID", "message": "\xff\xfe"}}'),
    _raw("json-array", "not an object", b'[{"request_id": "RID"}]'),
    _raw("deep-nesting", "nested too deeply", b'{"id": "RID", "x": ' + DEEP + b"}"),
    _raw("huge-number", "more digits", b'{"id": "RID", "n": ' + b"9" * 4_500 + b"}"),
    _contact_envelope("wrong-type", "unknown event type", type="cu.contact.deleted.v1"),
    _contact_envelope("specversion-0.3", "not a CloudEvent 1.0: specversion", specversion="0.3"),
    _contact_envelope("no-specversion", "not a CloudEvent 1.0: specversion", specversion=None),
    _contact_envelope("id-257-chars", "not a CloudEvent 1.0: id", id="e" * 257),
    _contact_envelope("content-type-xml", "datacontenttype", datacontenttype="application/xml"),
    _contact_envelope("data-not-object", "data", data="REQ-1 please call"),
    _contact("message-1mb", "data.message", MEGABYTE[:64], message=MEGABYTE),
    _contact("subject-10k", "data.subject", "S" * 64, subject="S" * 10_000),
    _contact("nul-in-subject", "data.subject: Value error, must not contain NUL", subject="Hi\x00"),
    _contact("surrogate-in-message", "data.message", message="Call me\ud800"),
    _contact("bidi-in-request-id", "data.request_id", request_id=f"R\u202e{uuid.uuid4().hex}"),
    _contact("member-id-huge-number", "data.member_id", member_id=10**30),
    _contact("unknown-department", "department 'MORTGAGE'", department="MORTGAGE"),
    _contact("submitted-1999", "data.submitted_at", submitted_at="1999-12-31T23:59:59Z"),
    _contact("submitted-2100", "data.submitted_at", submitted_at="2100-01-01T00:00:00+14:00"),
]
ASSIGNMENT_DEAD = [
    _raw("assign-not-json", "not JSON", b'{"data": {"assignment_id": "RID"'),
    _assign_as_contact_type(),
    _assign("unknown-tracker-type", "Tracker type ZZ is not configured", tracker_type="ZZ"),
    _assign("unknown-memo-type", "memo type ZZ does not belong to Tracker type MS", memo_type="ZZ"),
    _assign("memo-of-another-type", "memo type PP does not belong", memo_type="PP"),
    _assign(
        "cross-sales-missing", "needs a Need Group and a Task", tracker_type="ST", memo_type="SL"
    ),
    _assign("unknown-assignee", "NOBODY9 is not a known employee", assignee_employee_id="NOBODY9"),
    _assign("note-10k", "data.note", "N" * 64, note="N" * 10_000),
    _assign("nul-in-note", "data.note: Value error, must not contain NUL", note="Pay\x00"),
    _assign("due-1999", "data.follow_up_on", follow_up_on="1999-12-31"),
    _assign("due-2100", "data.follow_up_on", follow_up_on="2100-01-01"),
    _assign("suffix-huge-number", "data.account_suffix", account_suffix=10**40),
]

# Accepted: stored and shown exactly as sent. Duplicates: the second is not applied.
BIDI_CONTACT = contact_event(member_id=new_member(), subject="Card \u202eLOCKED", message=BIDI)
CONTROL_CONTACT = contact_event(member_id=new_member(), message=CONTROL)
FIRST = contact_event(member_id=new_member(), subject="First version")
SECOND = contact_event(
    request_id=FIRST["data"]["request_id"],
    member_id=FIRST["data"]["member_id"],
    subject="Second version",
    message="Rewritten",
)
SECOND["id"] = f"{FIRST['id']}-again"
BIDI_ASSIGNMENT = assignment_event(note=BIDI)
FIRST_ASSIGNMENT = assignment_event(note="First note")
SECOND_ASSIGNMENT = assignment_event(
    assignment_id=FIRST_ASSIGNMENT["data"]["assignment_id"],
    member_id=FIRST_ASSIGNMENT["data"]["member_id"],
    note="Second note",
)
SECOND_ASSIGNMENT["id"] = f"{FIRST_ASSIGNMENT['id']}-again"


@dataclass
class Outcome:
    """What the bridge did with this module's records."""

    contact_dead: dict[int, Record]
    assignment_dead: dict[int, Record]
    contact_offsets: dict[str, int]
    assignment_offsets: dict[str, int]
    http: httpx.AsyncClient
    temporal: Client
    database_url: str


def _by_offset(records: list[Record]) -> dict[int, Record]:
    return {int(r.headers["x-original-offset"]): r for r in records}


async def _send(bootstrap: str, topic: str, values: list[bytes]) -> None:
    for value in values:
        await produce_to(bootstrap, topic, 0, KEY, value)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def outcome(base_settings: Settings, postgres_url: str) -> AsyncIterator[Outcome]:
    """Send every record of the table, wait for the sentinels, collect the dead letters."""
    async with running_app(base_settings, postgres_url=postgres_url) as app:
        sessions = app.services.session_factory
        # LOANS: the department of contact_event's requests, which the desk reads back.
        token = await add_employee(
            sessions, ASSIGNEE, "Hostile desk", "employee", departments=["LOANS"]
        )
        topics = app.topics
        contact_values = [d.value for d in CONTACT_DEAD] + [
            encoded(e) for e in (BIDI_CONTACT, CONTROL_CONTACT, FIRST, SECOND)
        ]
        sentinel = contact_event(member_id=new_member())
        await _send(app.bootstrap, topics.contact_requests, [*contact_values, encoded(sentinel)])
        assignment_values = [d.value for d in ASSIGNMENT_DEAD] + [
            encoded(e) for e in (BIDI_ASSIGNMENT, FIRST_ASSIGNMENT, SECOND_ASSIGNMENT)
        ]
        last = assignment_event()
        await _send(app.bootstrap, topics.followup_assignments, [*assignment_values, encoded(last)])
        temporal = app.services.temporal

        async def started(workflow_id: str) -> bool:
            return await workflow_exists(temporal, workflow_id)

        sentinel_id = contact_request_workflow_id(sentinel["data"]["request_id"])
        last_id = assignment_workflow_id(last["data"]["assignment_id"])
        await wait_for(lambda: started(sentinel_id), timeout=60, what="contact sentinel")
        await wait_for(lambda: started(last_id), timeout=60, what="assignment sentinel")
        contact_dead = await consume(
            app.bootstrap, topics.dlq(topics.contact_requests), len(CONTACT_DEAD)
        )
        assignment_dead = await consume(
            app.bootstrap, topics.dlq(topics.followup_assignments), len(ASSIGNMENT_DEAD)
        )
        api = create_app(app.services)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api),
            base_url="http://desk/api/v1",
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            yield Outcome(
                _by_offset(contact_dead),
                _by_offset(assignment_dead),
                {d.name: i for i, d in enumerate(CONTACT_DEAD)},
                {d.name: i for i, d in enumerate(ASSIGNMENT_DEAD)},
                http,
                temporal,
                app.settings.database.url,
            )


def _check_dead_letter(record: Record | None, case: Dead, topic_offset: int) -> None:
    assert record is not None, f"{case.name} was not dead-lettered"
    assert record.key == KEY
    assert record.value == case.value
    reason = record.headers["x-error"]
    assert case.reason in reason, reason
    assert case.secret not in reason
    assert int(record.headers["x-original-offset"]) == topic_offset


@pytest.mark.parametrize("case", CONTACT_DEAD, ids=[d.name for d in CONTACT_DEAD])
async def test_contact_record_is_dead_lettered_and_starts_nothing(
    outcome: Outcome, case: Dead
) -> None:
    offset = outcome.contact_offsets[case.name]
    _check_dead_letter(outcome.contact_dead.get(offset), case, offset)
    assert not await workflow_exists(
        outcome.temporal, contact_request_workflow_id(case.business_id)
    )
    for sql, key in (
        ("SELECT count(*) FROM contact_requests WHERE request_id = $1", case.business_id),
        ("SELECT count(*) FROM contact_requests WHERE member_id = $1", case.member_id),
    ):
        assert await count(outcome.database_url, sql, key) == 0


@pytest.mark.parametrize("case", ASSIGNMENT_DEAD, ids=[d.name for d in ASSIGNMENT_DEAD])
async def test_assignment_record_is_dead_lettered_and_starts_nothing(
    outcome: Outcome, case: Dead
) -> None:
    offset = outcome.assignment_offsets[case.name]
    _check_dead_letter(outcome.assignment_dead.get(offset), case, offset)
    workflow_id = assignment_workflow_id(case.business_id)
    assert not await workflow_exists(outcome.temporal, workflow_id)
    sql = "SELECT count(*) FROM trackers WHERE member_id = $1"
    assert await count(outcome.database_url, sql, case.member_id) == 0


async def _request(outcome: Outcome, event: dict[str, Any]) -> dict[str, Any]:
    request_id = event["data"]["request_id"]

    async def stored() -> dict[str, Any] | None:
        response = await outcome.http.get(f"/contact-requests/{request_id}")
        return response.json() if response.status_code == 200 else None

    found: dict[str, Any] = await wait_for(stored, what=f"request {request_id}")
    return found


@pytest.mark.parametrize(
    "event", [BIDI_CONTACT, CONTROL_CONTACT], ids=["bidi-override-kept", "control-chars-kept"]
)
async def test_contact_text_the_contract_allows_comes_back_intact(
    outcome: Outcome, event: dict[str, Any]
) -> None:
    stored = await _request(outcome, event)
    assert (stored["subject"], stored["message"]) == (
        event["data"]["subject"],
        event["data"]["message"],
    )


async def test_second_contact_with_the_same_request_id_is_not_applied(outcome: Outcome) -> None:
    """A second event with the same ``request_id`` (another CloudEvent ``id``, other text)
    joins the first one's workflow: it is neither dead-lettered nor stored over the first."""
    stored = await _request(outcome, FIRST)
    assert (stored["subject"], stored["message"]) == ("First version", FIRST["data"]["message"])
    sql = "SELECT count(*) FROM contact_requests WHERE request_id = $1"
    assert await count(outcome.database_url, sql, FIRST["data"]["request_id"]) == 1
    dead_values = {r.value for r in outcome.contact_dead.values()}
    assert encoded(SECOND) not in dead_values


async def _notes(outcome: Outcome, member_id: str) -> list[str]:
    async def written() -> list[str]:
        response = await outcome.http.get(f"/members/{member_id}/trackers")
        assert response.status_code == 200, response.text
        return [c["text"] for t in response.json()["items"] for c in t["conversations"]]

    notes: list[str] = await wait_for(written, what=f"notes of {member_id}")
    return notes


async def test_assignment_note_with_a_bidi_override_is_stored_intact(outcome: Outcome) -> None:
    notes = await _notes(outcome, BIDI_ASSIGNMENT["data"]["member_id"])
    assert notes == [BIDI]


async def test_second_assignment_with_the_same_id_is_not_applied(outcome: Outcome) -> None:
    """The second event joins (or finds finished) the first one's workflow: one note, the
    first one's text, and no dead letter."""
    notes = await _notes(outcome, FIRST_ASSIGNMENT["data"]["member_id"])
    assert notes == ["First note"]
    dead_values = {r.value for r in outcome.assignment_dead.values()}
    assert encoded(SECOND_ASSIGNMENT) not in dead_values
