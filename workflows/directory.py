"""Re-checking who acts against the employee directory, from workflow code.

An Update carries the caller's employee id (and, from older callers, a role); neither is
trusted. The handler looks the employees up with the ``look_up_directory`` activity (a
validator cannot run activities) and decides with the shared table,
``contracts.platform.permissions``, in deterministic code: the recorded answer replays as it was.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow

from contracts.platform.directory import DirectoryAnswer, DirectoryEntry, DirectoryLookup
from contracts.platform.permissions import Action, Relation, allowed, refusal
from contracts.vocabulary import Refusal
from workflows.policies import LOOKUP_TIMEOUT, WRITE_RETRY, refusals_re_raised, refused

with workflow.unsafe.imports_passed_through():
    from workers.platform.directory import DirectoryActivities


async def check_in_directory(
    action: Action,
    employee_id: str,
    others: list[str | None],
    relations: Callable[[DirectoryEntry, DirectoryAnswer], frozenset[Relation]],
) -> None:
    """Refuse (Forbidden) unless the directory's ``employee_id`` may take ``action``.

    Args:
        action: The action asked for.
        employee_id: Who asks (from the Update's input).
        others: Other employees the relations need (the claimant, the assignee).
        relations: The record's relations to the caller, from the caller's entry and the
            directory's answer.
    """
    ids = sorted({employee_id, *(other for other in others if other)})
    with refusals_re_raised():
        answer: DirectoryAnswer = await workflow.execute_activity_method(
            DirectoryActivities.look_up_directory,
            DirectoryLookup(employee_ids=ids),
            start_to_close_timeout=LOOKUP_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
    actor = answer.get(employee_id)
    if actor is None:
        raise refused(f"{employee_id} is not an enabled employee", Refusal.FORBIDDEN)
    if not allowed(action, actor.role, relations(actor, answer)):
        raise refused(refusal(action, employee_id, actor.role), Refusal.FORBIDDEN)
