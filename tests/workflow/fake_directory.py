"""The employee directory the workflow tests' doubles answer with (``look_up_directory``).

Employees ``SR``, ``JD`` (LOANS, under ``MG``) and supervisor ``MG`` (LOANS) for contact requests;
``E1``, ``E2`` (under ``S1``), ``E3`` and supervisor ``S1`` for follow-ups. Made-up values only:
the recorded histories hold what this answers.
"""

from __future__ import annotations

from temporalio import activity

from contracts.platform.directory import DirectoryAnswer, DirectoryEntry, DirectoryLookup
from contracts.vocabulary import Role


def _entry(
    employee_id: str, role: Role, departments: list[str], supervisor: str | None = None
) -> DirectoryEntry:
    return DirectoryEntry(
        employee_id=employee_id, role=role, departments=departments, supervisor_id=supervisor
    )


DIRECTORY: dict[str, DirectoryEntry] = {
    e.employee_id: e
    for e in [
        _entry("SR", Role.EMPLOYEE, ["LOANS"], "MG"),
        _entry("JD", Role.EMPLOYEE, ["LOANS"], "MG"),
        _entry("MG", Role.SUPERVISOR, ["LOANS"]),
        _entry("OP", Role.OPERATOR, ["LOANS"]),
        _entry("E1", Role.EMPLOYEE, ["CARDS"], "S1"),
        _entry("E2", Role.EMPLOYEE, ["CARDS"], "S1"),
        _entry("E3", Role.EMPLOYEE, ["GENERAL"]),
        _entry("S1", Role.SUPERVISOR, []),
    ]
}


@activity.defn(name="look_up_directory")
async def fake_look_up_directory(lookup: DirectoryLookup) -> DirectoryAnswer:
    """``look_up_directory`` answered from ``DIRECTORY`` (unknown ids absent, as in the store)."""
    return DirectoryAnswer(
        entries=[DIRECTORY[i] for i in sorted(set(lookup.employee_ids)) if i in DIRECTORY]
    )
