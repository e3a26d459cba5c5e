"""Who may act on a follow-up, and when: the checks behind ``FollowUpWorkflow``'s Updates.

Pure functions of the follow-up's state and the caller, so Update validators stay synchronous
and read-only, and handlers can re-check the same rule under the workflow's lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.trackers.follow_ups import AddNoteInput, ReassignInput
from contracts.vocabulary import FollowUpState, Refusal, Role
from workflows.policies import refused


@dataclass(frozen=True)
class FollowUpFacts:
    """What the rules read: the follow-up, its state and its current assignee."""

    follow_up_id: str
    status: FollowUpState
    assignee: str


def check_outstanding(facts: FollowUpFacts) -> None:
    """Refuse (Conflict) any change to a completed follow-up."""
    if facts.status is FollowUpState.COMPLETED:
        raise refused(f"follow-up {facts.follow_up_id} is already completed", Refusal.CONFLICT)


def check_may_complete(facts: FollowUpFacts, employee_id: str, role: Role) -> None:
    """Only the assignee or a supervisor completes an outstanding follow-up."""
    check_outstanding(facts)
    if employee_id != facts.assignee and role != Role.SUPERVISOR:
        raise refused(
            f"only the assignee ({facts.assignee}) or a supervisor may complete "
            f"follow-up {facts.follow_up_id}",
            Refusal.FORBIDDEN,
        )


def check_may_act(facts: FollowUpFacts, employee_id: str, role: Role, what: str) -> None:
    """Refuse (Forbidden) anyone but the assignee or a supervisor, from the Update's arguments.

    For validators only, to turn an employee away before anything is recorded: the role is the
    caller's word. The handler's directory check decides (``FollowUpWorkflow._authorize``);
    handlers do not call this, so Updates recorded before it replay as they ran.
    """
    if employee_id != facts.assignee and role != Role.SUPERVISOR:
        raise refused(
            f"only the assignee ({facts.assignee}) or their supervisor may {what} "
            f"follow-up {facts.follow_up_id}",
            Refusal.FORBIDDEN,
        )


def check_reassign(facts: FollowUpFacts, action: ReassignInput) -> None:
    """An outstanding follow-up goes to someone other than its current assignee."""
    check_outstanding(facts)
    if action.assignee_employee_id == facts.assignee:
        raise refused(
            f"follow-up {facts.follow_up_id} is already assigned to {facts.assignee}",
            Refusal.CONFLICT,
        )


def check_add_note(facts: FollowUpFacts, request: AddNoteInput) -> None:
    """Notes go on outstanding follow-ups; opening the next one follows the completion rule."""
    if request.next_follow_up is None:
        check_outstanding(facts)
    else:
        # Opening the next follow-up completes this one: the same rule as ``complete``.
        check_may_complete(facts, request.employee_id, request.role)
