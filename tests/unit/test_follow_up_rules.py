"""Who may act on a follow-up: the rules behind FollowUpWorkflow's Update validators."""

from __future__ import annotations

from datetime import date

import pytest
from temporalio.exceptions import ApplicationError

from contracts.trackers.follow_ups import AddNoteInput, NextFollowUp, ReassignInput
from contracts.vocabulary import FollowUpState, Refusal, Role
from workflows.trackers.follow_up_rules import (
    FollowUpFacts,
    check_add_note,
    check_may_complete,
    check_reassign,
)

pytestmark = pytest.mark.unit

OPEN = FollowUpFacts("fu-1", FollowUpState.OUTSTANDING, "JD")
DONE = FollowUpFacts("fu-1", FollowUpState.COMPLETED, "JD")
NEXT = NextFollowUp(assignee_employee_id="SR", due_on=date(2026, 12, 10))


def refusal(check: object, *args: object) -> str | None:
    """The refusal type a check raises, or None when it allows the action."""
    assert callable(check)
    try:
        check(*args)
    except ApplicationError as err:
        assert err.non_retryable
        return err.type
    return None


def test_the_assignee_or_a_supervisor_completes_an_outstanding_follow_up() -> None:
    assert refusal(check_may_complete, OPEN, "JD", Role.EMPLOYEE) is None
    assert refusal(check_may_complete, OPEN, "MG", Role.SUPERVISOR) is None
    assert refusal(check_may_complete, OPEN, "SR", Role.EMPLOYEE) == Refusal.FORBIDDEN
    assert refusal(check_may_complete, DONE, "JD", Role.EMPLOYEE) == Refusal.CONFLICT


def test_reassign_needs_an_outstanding_follow_up_and_a_new_assignee() -> None:
    to_sr = ReassignInput(employee_id="SR", assignee_employee_id="SR")
    to_jd = ReassignInput(employee_id="SR", assignee_employee_id="JD")
    assert refusal(check_reassign, OPEN, to_sr) is None
    assert refusal(check_reassign, OPEN, to_jd) == Refusal.CONFLICT
    assert refusal(check_reassign, DONE, to_sr) == Refusal.CONFLICT


def test_a_next_follow_up_follows_the_completion_rule_a_plain_note_does_not() -> None:
    plain = AddNoteInput(employee_id="SR", note="Called the member.")
    with_next = AddNoteInput(employee_id="SR", note="Passing on.", next_follow_up=NEXT)
    by_supervisor = with_next.model_copy(update={"employee_id": "MG", "role": Role.SUPERVISOR})
    assert refusal(check_add_note, OPEN, plain) is None
    assert refusal(check_add_note, OPEN, with_next) == Refusal.FORBIDDEN
    assert refusal(check_add_note, OPEN, by_supervisor) is None
    assert refusal(check_add_note, DONE, plain) == Refusal.CONFLICT
