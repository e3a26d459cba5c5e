"""``/mass-trackers``: submit a mass Tracker batch, follow it, list batches (docs/http-api.md).

The member list comes inline in the JSON body (``members``), so a batch is bounded by
``MEMBERFLOW_API_MAX_BODY_BYTES`` (256 KiB by default: about 15,000 members); larger lists are
submitted from a CSV or Parquet file with ``memberflow trackers mass`` on the host.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import ValidationError

from contracts.platform.permissions import Action, Relation
from contracts.trackers.mass import (
    BATCH_ID_PATTERN,
    MassTrackerRequest,
    MassTrackerSpec,
    MassTrackerSummary,
    MassTrackerView,
)
from workers.platform.audit import AuditAction
from workers.platform.errors import StoreError
from workers.platform.web.access import authorize
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import DeskDep, SessionsDep, TodayDep
from workers.platform.web.errors import STATUS_BY_REFUSAL
from workers.platform.web.trail import AccessTrail, audited
from workers.trackers.mass_batches import start_batch, submit_batch
from workers.trackers.mass_views import batch_view, list_batches

router = APIRouter(prefix="/mass-trackers", tags=["mass trackers"])
BATCH_ID = re.compile(BATCH_ID_PATTERN)


def _readable(err: ValidationError) -> str:
    # Positions and rules only: the input values may be member numbers.
    parts = []
    for error in err.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg')}")
    return "; ".join(parts[:10])


async def _request(request: Request) -> MassTrackerRequest:
    try:
        body: Any = await request.json()
    except (ValueError, RecursionError) as err:
        raise HTTPException(422, detail="body must be a JSON object") from err
    try:
        return MassTrackerRequest.model_validate(body)
    except ValidationError as err:
        raise HTTPException(422, detail=_readable(err)) from None


@router.post("", response_model=MassTrackerView, summary="Submit (or return) a batch")
async def submit(
    request: Request,
    desk: DeskDep,
    today: TodayDep,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.MASS_TRACKERS_START)],
) -> MassTrackerView:
    """Store the batch and start its workflow; the same batch id and content again returns
    the batch as it stands, other content under the id is refused (409)."""
    authorize(caller, Action.START_MASS_TRACKERS, (Relation.ANY,))
    body = await _request(request)
    trail.about(record_id=body.batch_id)
    spec = MassTrackerSpec.model_validate(body.model_dump(exclude={"members"}))
    try:
        submitted = await submit_batch(
            desk.sessions,
            desk.ops,
            spec,
            body.members,
            requested_by=caller.employee_id,
            as_of=today,
        )
    except StoreError as exc:
        raise HTTPException(STATUS_BY_REFUSAL[exc.kind], detail=str(exc)) from None
    if submitted.state == "running":
        await start_batch(
            desk.temporal, desk.settings.temporal.task_queue, spec, submitted.members_total
        )
    view = await batch_view(desk.sessions, spec.batch_id, skipped_limit=0)
    assert view is not None
    view.created_now = submitted.created
    return view


@router.get("", response_model=list[MassTrackerSummary], summary="Batches, newest first")
async def batches(
    sessions: SessionsDep,
    caller: CurrentEmployee,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MassTrackerSummary]:
    """The newest batches (no member data)."""
    authorize(caller, Action.LIST_MASS_TRACKERS, (Relation.ANY,))
    return await list_batches(sessions, limit)


@router.get("/{batch_id}", response_model=MassTrackerView, summary="A batch: progress, report")
async def batch(
    sessions: SessionsDep,
    batch_id: str,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.MASS_TRACKERS_READ)],
    skipped_limit: Annotated[int, Query(ge=0, le=10_000)] = 1000,
) -> MassTrackerView:
    """The batch, its outcomes so far (counted in the table), its report once finished and
    the first ``skipped_limit`` skipped members with their reasons."""
    if not BATCH_ID.match(batch_id):
        raise HTTPException(422, detail="batch_id must be 1-64 of A-Z a-z 0-9 . _ -")
    trail.about(record_id=batch_id)
    authorize(caller, Action.READ_MASS_TRACKERS, (Relation.ANY,))
    view = await batch_view(sessions, batch_id, skipped_limit=skipped_limit)
    if view is None:
        raise HTTPException(404, detail=f"no mass Tracker batch {batch_id}")
    return view
