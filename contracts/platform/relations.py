"""How a record relates to the caller: the cases (``Relation``) the rules table is read in.

Computed from the employee directory (never from what a caller sends), by the API
(``workers.platform.web.access``) and, deterministically, by the workflows that re-check an
Update (``ContactRequestWorkflow``, ``FollowUpWorkflow``). Pure: workflows import it.
"""

from __future__ import annotations

from contracts.platform.directory import DirectoryEntry
from contracts.platform.permissions import Relation


def person_relations(caller: DirectoryEntry, other: DirectoryEntry | None) -> frozenset[Relation]:
    """How another employee (an assignee, a queue's owner) relates to the caller.

    Args:
        caller: The caller's directory entry.
        other: The other employee's entry (None when unknown: then only ``other``).
    """
    if other is None:
        return frozenset({Relation.OTHER})
    if other.employee_id == caller.employee_id:
        return frozenset({Relation.OWN})
    found: set[Relation] = set()
    if other.supervisor_id == caller.employee_id:
        found.add(Relation.REPORT)
    if set(other.departments) & set(caller.departments):
        found.add(Relation.DEPARTMENT)
    return frozenset(found or {Relation.OTHER})


def request_relations(
    caller: DirectoryEntry,
    department: str | None,
    claimed_by: str | None,
    claimant: DirectoryEntry | None,
) -> frozenset[Relation]:
    """How a contact request relates to the caller.

    Args:
        caller: The caller's directory entry.
        department: The request's department code, None when addressed to none.
        claimed_by: Who holds the request's claim, if anyone.
        claimant: That employee's directory entry (for ``report``), if known.
    """
    found: set[Relation] = set()
    if claimed_by is not None and claimed_by == caller.employee_id:
        found.add(Relation.OWN)
    supervisor = claimant.supervisor_id if claimant is not None else None
    if claimed_by is not None and supervisor == caller.employee_id:
        found.add(Relation.REPORT)
    if department is None:
        found.add(Relation.NO_DEPARTMENT)
    elif department in caller.departments:
        found.add(Relation.DEPARTMENT)
    return frozenset(found or {Relation.OTHER})
