"""Credentials given and taken away: issue, rotate and revoke an employee's tokens, disable them.

What ``memberflow employees token|rotate|revoke|disable`` do (``employees add`` and the
operations-file sync are in :mod:`workers.platform.employees`). Each change runs in one
transaction holding the employee's row, so two commands for one employee run in turn.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workers.platform.clock import system_clock
from workers.platform.database import Sessions
from workers.platform.employees import DEFAULT_TOKEN_LIFETIME, disable_row, require_employee
from workers.platform.errors import ConflictError
from workers.platform.tokens import issue_token, revoke_tokens


async def issue_employee_token(
    sessions: Sessions,
    employee_id: str,
    *,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    revoke_others: bool = False,
    now: datetime | None = None,
) -> str:
    """A new token for an enabled employee (``employees token``; ``employees rotate`` with
    ``revoke_others``: every earlier token is revoked in the same transaction).

    Raises:
        UnknownEmployeeError: No such employee.
        ConflictError: The employee is disabled (``employees add`` enables them again).
    """
    now = now or system_clock()
    async with sessions.begin() as session:
        employee = await require_employee(session, employee_id, for_update=True)
        if not employee.enabled:
            raise ConflictError(
                f"employee {employee_id} is disabled; `memberflow employees add` enables them"
            )
        if revoke_others:
            await revoke_tokens(session, employee_id, now=now)
        return await issue_token(session, employee_id, now=now, lifetime=lifetime)


async def revoke_employee_tokens(
    sessions: Sessions, employee_id: str, *, now: datetime | None = None
) -> int:
    """Revoke every token of the employee at once (they stay enabled).

    Returns:
        How many tokens were not revoked before.

    Raises:
        UnknownEmployeeError: No such employee.
    """
    async with sessions.begin() as session:
        await require_employee(session, employee_id, for_update=True)
        return await revoke_tokens(session, employee_id, now=now or system_clock())


async def disable_employee(
    sessions: Sessions, employee_id: str, *, now: datetime | None = None
) -> int:
    """Disable the employee: every token of theirs is refused from now on, and revoked.

    Returns:
        How many tokens were revoked.

    Raises:
        UnknownEmployeeError: No such employee.
    """
    async with sessions.begin() as session:
        employee = await require_employee(session, employee_id, for_update=True)
        return await disable_row(session, employee, now or system_clock())
