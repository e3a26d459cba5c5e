"""The employee directory as the permission rules read it: role, departments, supervisor.

Both the desk API and the workflows judge an action against ``employees`` as it is now, never
against a role a caller sends: the API through :func:`directory_entries`, the workflows through
the ``look_up_directory`` activity (``DirectoryActivities``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from temporalio import activity

from contracts.platform.directory import DirectoryAnswer, DirectoryEntry, DirectoryLookup
from contracts.vocabulary import Role
from workers.platform.database import Sessions
from workers.platform.employees import EmployeeRecord, EmployeeRow
from workers.platform.errors import store_refusals


def entry_of(record: EmployeeRecord) -> DirectoryEntry:
    """An employee record as the rules read it."""
    return DirectoryEntry(
        employee_id=record.id,
        role=record.role,
        departments=list(record.departments),
        supervisor_id=record.supervisor_id,
    )


async def directory_entries(
    sessions: Sessions, employee_ids: Iterable[str]
) -> dict[str, DirectoryEntry]:
    """The enabled employees among ``employee_ids``, by id (unknown or disabled ones absent).

    A disabled employee keeps no rights: their claims and follow-ups are nobody's "report".
    """
    wanted = sorted(set(employee_ids))
    if not wanted:
        return {}
    async with sessions() as session:
        rows = await session.scalars(
            select(EmployeeRow).where(EmployeeRow.id.in_(wanted), EmployeeRow.enabled)
        )
        return {
            row.id: DirectoryEntry(
                employee_id=row.id,
                role=Role(row.role),
                departments=[d.department for d in row.departments],
                supervisor_id=row.supervisor_id,
            )
            for row in rows
        }


class DirectoryActivities:
    """The directory lookup workflows use to re-check who acts (``look_up_directory``)."""

    def __init__(self, sessions: Sessions) -> None:
        """Bind the activity to the store."""
        self._sessions = sessions

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the worker."""
        return [self.look_up_directory]

    @activity.defn
    async def look_up_directory(self, lookup: DirectoryLookup) -> DirectoryAnswer:
        """The directory entries of the employees named (unknown or disabled ones absent).

        Args:
            lookup: The employee ids.

        Returns:
            Their entries; the workflow decides with ``contracts.platform.permissions``.
        """
        with store_refusals():
            found = await directory_entries(self._sessions, lookup.employee_ids)
        return DirectoryAnswer(entries=[found[key] for key in sorted(found)])
