"""``/tracker-purges``: purge Tracker conversations in two stages, admins only.

``POST /tracker-purges`` verifies (what would go, under a new purge id; nothing is deleted);
``POST /tracker-purges/{purge_id}/confirm`` deletes exactly what that verify listed, or refuses
(409) when the list no longer holds. Both are audited with the purge id as the record.
Rules and answers: docs/http-api.md, "Tracker purges"; the store: ``purge_store``.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException

from contracts.platform.permissions import Action, Relation
from contracts.trackers.purge import PurgeCriteria, PurgeReport
from workers.platform.audit import AuditAction
from workers.platform.errors import StoreError
from workers.platform.web.access import authorize
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import OpsDep, SessionsDep
from workers.platform.web.errors import STATUS_BY_REFUSAL
from workers.platform.web.trail import AccessTrail, audited
from workers.trackers.purge_store import confirm_purge, verify_purge

router = APIRouter(prefix="/tracker-purges", tags=["tracker purges"])

PURGE_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")


def _refused(exc: StoreError) -> HTTPException:
    # Store refusals name the rule (a type, a purge id), never member data.
    return HTTPException(STATUS_BY_REFUSAL[exc.kind], detail=str(exc))


@router.post("", response_model=PurgeReport, summary="Verify a purge: what would be deleted")
async def verify(
    sessions: SessionsDep,
    ops: OpsDep,
    body: PurgeCriteria,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.TRACKER_PURGE_VERIFY)],
) -> PurgeReport:
    """Record the conversations the criteria select (409 for a type that does not allow
    purging, 422 without criteria); confirm deletes them."""
    authorize(caller, Action.VERIFY_TRACKER_PURGE, (Relation.ANY,))
    try:
        report = await verify_purge(sessions, ops, body, by=caller.employee_id)
    except StoreError as exc:
        raise _refused(exc) from None
    trail.about(record_id=report.purge_id)
    return report


@router.post(
    "/{purge_id}/confirm",
    response_model=PurgeReport,
    summary="Confirm a verified purge: delete what it listed",
)
async def confirm(
    sessions: SessionsDep,
    ops: OpsDep,
    purge_id: str,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.TRACKER_PURGE_CONFIRM)],
) -> PurgeReport:
    """Delete the purge's conversations (and the Trackers left empty); a confirmed purge is
    answered as it is, so a retry deletes nothing twice."""
    authorize(caller, Action.CONFIRM_TRACKER_PURGE, (Relation.ANY,))
    if not PURGE_ID.match(purge_id):
        raise HTTPException(422, detail="purge_id must be 1-36 of A-Z a-z 0-9 -")
    trail.about(record_id=purge_id)
    try:
        return await confirm_purge(sessions, ops, purge_id, by=caller.employee_id)
    except StoreError as exc:
        raise _refused(exc) from None
