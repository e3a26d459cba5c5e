"""The one place the desk API writes the access trail: a dependency per audited route.

A route declares ``trail: Annotated[AccessTrail, audited(AuditAction.X)]`` and, once it knows
them, names the member and record (``trail.about(...)``). When the route has answered, the
dependency writes one ``audit_events`` row with the status: 200 for an answer, the error's
status for a refusal (403 denied, 404, 409, 422, ...). It runs with ``scope="function"``, so
the row is written before the response leaves: a read whose row cannot be written is not
answered (the database error answers 503 instead).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError

from workers.platform.audit import AuditAction, record_event
from workers.platform.database import Sessions
from workers.platform.web.auth import CurrentEmployee, client_address
from workers.platform.web.dependencies import SessionsDep

log = logging.getLogger("memberflow.audit")


class AccessTrail:
    """What one audited call concerns: filled in by the route, written by the dependency."""

    def __init__(self, action: AuditAction) -> None:
        """An entry for ``action``, about no member or record yet."""
        self.action = action
        self.member_id: str | None = None
        self.record_id: str | None = None

    def about(self, *, member_id: str | None = None, record_id: str | None = None) -> None:
        """Name the member and the record (request id, follow-up id, period) acted on.

        Call it once the values are validated or read from the store: they are stored as given.
        """
        if member_id is not None:
            self.member_id = member_id
        if record_id is not None:
            self.record_id = record_id


async def _write(
    sessions: Sessions, trail: AccessTrail, employee_id: str, address: str, status: int
) -> None:
    await record_event(
        sessions,
        employee_id=employee_id,
        action=trail.action,
        status=status,
        member_id=trail.member_id,
        record_id=trail.record_id,
        client_address=address,
    )


def audited(action: AuditAction) -> Any:
    """The dependency auditing one route's calls as ``action`` (see the module docstring)."""

    async def access_trail(
        request: Request, sessions: SessionsDep, caller: CurrentEmployee
    ) -> AsyncIterator[AccessTrail]:
        trail = AccessTrail(action)
        address = client_address(request)
        try:
            yield trail
        except HTTPException as exc:
            await _write(sessions, trail, caller.employee_id, address, exc.status_code)
            raise
        except RequestValidationError:
            await _write(sessions, trail, caller.employee_id, address, 422)
            raise
        except Exception:
            # The call failed on its own (e.g. the database is down): try to note it, but the
            # original error is what the caller must see.
            try:
                await _write(sessions, trail, caller.employee_id, address, 500)
            except Exception:  # the original error is re-raised below
                log.warning("audit row for a failed %s call could not be written", action.value)
            raise
        else:
            await _write(sessions, trail, caller.employee_id, address, 200)

    return Depends(access_trail, scope="function")
