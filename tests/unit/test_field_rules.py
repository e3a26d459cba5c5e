"""Field rules at the edge match what the store accepts: lengths, NUL characters, due dates.

Every value an HTTP body or a workflow/Update input lets through must be storable; one that is
not would fail inside an activity, and a refusal found that late wedges the workflow (or, at
best, fails it) instead of answering the caller with a readable 422.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from contracts.contacts.workflow import FollowUpRequest, ReplyInput
from contracts.trackers.follow_ups import (
    AddNoteInput,
    CompleteInput,
    DeadlineRequest,
    FollowUpInput,
    NextFollowUp,
    ReassignInput,
)
from contracts.vocabulary import LATEST_DUE_DATE
from workers.contacts.schemas import FollowUpBody, ReplyBody
from workers.trackers.activities import deadlines
from workers.trackers.schemas import CompleteBody, NextFollowUpBody, NoteBody, ReassignBody

pytestmark = pytest.mark.unit

NUL = "Call back\x00 after five"
FAR = "9999-12-31"
DUE = "2026-11-25"

FOLLOW_UP_START: dict[str, Any] = {
    "follow_up_id": "f1",
    "member_id": "1",
    "tracker_id": "t",
    "conversation_id": "c",
    "assignee_employee_id": "E1",
    "assigned_by": "E2",
    "due_on": DUE,
}


def refused_fields(model: type[BaseModel], data: dict[str, Any]) -> dict[str, str]:
    """The fields a model refuses in ``data``, each with its message."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    errors = caught.value.errors(include_input=False, include_url=False)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in errors}


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (ReplyBody, {"body": NUL}, "body"),
        (
            ReplyBody,
            {"body": "ok", "follow_up": {"assignee_employee_id": "JD", "due_on": FAR}},
            "follow_up.due_on",
        ),
        (
            ReplyBody,
            {"body": "ok", "follow_up": {"assignee_employee_id": "J\x00", "due_on": DUE}},
            "follow_up.assignee_employee_id",
        ),
        (FollowUpBody, {"assignee_employee_id": "JD", "due_on": DUE, "note": NUL}, "note"),
        (FollowUpBody, {"assignee_employee_id": "JD", "due_on": "1899-12-31"}, "due_on"),
        (CompleteBody, {"note": NUL}, "note"),
        (ReassignBody, {"assignee_employee_id": "JD", "note": NUL}, "note"),
        (ReassignBody, {"assignee_employee_id": "J" * 17}, "assignee_employee_id"),
        (NoteBody, {"note": NUL}, "note"),
        (
            NoteBody,
            {"note": "ok", "next_follow_up": {"assignee_employee_id": "SR", "due_on": FAR}},
            "next_follow_up.due_on",
        ),
        (
            NextFollowUpBody,
            {"assignee_employee_id": "SR\x00", "due_on": DUE},
            "assignee_employee_id",
        ),
    ],
)
def test_http_bodies_refuse_what_the_store_cannot_hold(
    model: type[BaseModel], data: dict[str, Any], field: str
) -> None:
    refused = refused_fields(model, data)
    assert field in refused
    assert "after five" not in refused[field]  # the value itself is never quoted


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (ReplyInput, {"employee_id": "SR", "body": NUL}, "body"),
        (FollowUpRequest, {"assignee_employee_id": "JD", "due_on": FAR}, "due_on"),
        (FollowUpRequest, {"assignee_employee_id": "JD", "due_on": DUE, "note": NUL}, "note"),
        (CompleteInput, {"employee_id": "SR", "note": NUL}, "note"),
        (ReassignInput, {"employee_id": "SR", "assignee_employee_id": "JD", "note": NUL}, "note"),
        (AddNoteInput, {"employee_id": "SR", "note": NUL}, "note"),
        (NextFollowUp, {"assignee_employee_id": "JD", "due_on": FAR}, "due_on"),
        (FollowUpInput, {**FOLLOW_UP_START, "due_on": FAR}, "due_on"),
    ],
)
def test_workflow_and_update_inputs_refuse_what_the_store_cannot_hold(
    model: type[BaseModel], data: dict[str, Any], field: str
) -> None:
    assert field in refused_fields(model, data)


def test_nul_is_refused_with_a_readable_reason() -> None:
    refused = refused_fields(ReplyBody, {"body": NUL})
    assert "NUL" in refused["body"]


def test_unpaired_surrogates_are_refused_too() -> None:
    # JSON can spell one ("\ud800"); neither UTF-8 nor PostgreSQL can store it.
    assert "body" in refused_fields(ReplyBody, {"body": "a\ud800b"})


def test_the_latest_due_date_still_has_every_deadline_in_every_time_zone() -> None:
    # The furthest escalation (365 days) in the zones furthest from UTC must not overflow.
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12", "America/Detroit"):
        computed = deadlines(
            DeadlineRequest(due_on=LATEST_DUE_DATE, overdue_after_days=365, time_zone=zone)
        )
        assert computed.escalate_at > computed.due_at


def test_an_unrepresentable_deadline_is_a_non_retryable_refusal() -> None:
    # The local activity runs with unlimited retries: an overflow must not be retried forever.
    with pytest.raises(ApplicationError) as caught:
        deadlines(DeadlineRequest(due_on=date(9999, 12, 31), overdue_after_days=1))
    assert (caught.value.type, caught.value.non_retryable) == ("ValidationError", True)
