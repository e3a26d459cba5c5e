"""``/members/{member_id}/trackers/consolidations`` and ``.../copies`` (docs/http-api.md).

Each request runs a workflow (``workflows/trackers/relocations.py``) once per caller and
``Idempotency-Key`` and answers with its result (``relocation_runs.run_keyed``); each call is
audited. Supervisors only (``contracts/platform/permissions.py``). A new key's request is
checked first with the store's own checks (read only), so a refusal answers at once and starts
no workflow; the activity checks again under the lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.ids import tracker_consolidation_workflow_id, tracker_copy_workflow_id
from contracts.platform.permissions import Action, Relation
from contracts.trackers.relocations import (
    ConsolidationInput,
    ConsolidationResult,
    CopyInput,
    CopyResult,
    RecordId,
)
from contracts.vocabulary import MemberId
from workers.platform.audit import AuditAction
from workers.platform.errors import StoreError
from workers.platform.web.access import authorize
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import DeskDep
from workers.platform.web.errors import STATUS_BY_REFUSAL
from workers.platform.web.trail import AccessTrail, audited
from workers.trackers.consolidation_store import check_consolidation
from workers.trackers.copy_store import plan_copy
from workers.trackers.member_routes import IDEMPOTENCY_KEY, check_member_id
from workers.trackers.relocation_runs import fingerprint, keyed_id, run_keyed
from workflows.trackers.relocations import ConsolidateTrackersWorkflow, CopyTrackerWorkflow

router = APIRouter(prefix="/members", tags=["members"])

_REFUSALS: dict[int | str, dict[str, str]] = {
    403: {"description": "Not a supervisor"},
    404: {"description": "No such Tracker (of this membership)"},
    409: {
        "description": "The Tracker type does not allow it, the Trackers do not match, or the "
        "Idempotency-Key was used for another request"
    },
    504: {"description": "Not finished in time; the same request and key later answers"},
}


class ConsolidationBody(BaseModel):
    """``POST /members/{member_id}/trackers/consolidations``."""

    model_config = ConfigDict(extra="forbid")

    tracker_ids: Annotated[list[RecordId], Field(min_length=2, max_length=2)]
    """Two Trackers of the member, of one type, on the base (000) account. The older survives."""

    @field_validator("tracker_ids")
    @classmethod
    def _two_different(cls, value: list[str]) -> list[str]:
        if value[0] == value[1]:
            raise ValueError("name two different Trackers")
        return value


class CopyBody(BaseModel):
    """``POST /members/{member_id}/trackers/copies``."""

    model_config = ConfigDict(extra="forbid")

    tracker_id: RecordId
    to_member_id: MemberId
    """The membership the copies go to (another one)."""
    conversation_ids: Annotated[list[RecordId], Field(min_length=1, max_length=1000)] | None = None
    """Only these conversations of the Tracker (default: every one)."""


def _refusing(check: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """``check`` with a store refusal turned into its HTTP answer (words meant for the caller)."""

    async def checked() -> None:
        try:
            await check()
        except StoreError as exc:
            raise HTTPException(STATUS_BY_REFUSAL[exc.kind], detail=str(exc)) from None

    return checked


def _check_key(idempotency_key: str) -> None:
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise HTTPException(422, detail="Idempotency-Key must be 1-64 of A-Z a-z 0-9 . _ -")


IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key")]
_KEY_HELP = (
    "Runs once per Idempotency-Key: the same request with the same key answers the same again; "
    "another request with that key answers 409."
)


@router.post(
    "/{member_id}/trackers/consolidations",
    response_model=ConsolidationResult,
    summary="Consolidate two of the member's Trackers (move conversations, remove the emptied)",
    description=_KEY_HELP,
    responses=_REFUSALS,
)
async def consolidate_trackers(
    desk: DeskDep,
    member_id: str,
    body: ConsolidationBody,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.MEMBER_TRACKERS_CONSOLIDATE)],
    idempotency_key: IdempotencyKey,
) -> ConsolidationResult:
    """Move every conversation of the newer Tracker into the older one, then remove the newer."""
    check_member_id(member_id)
    trail.about(member_id=member_id)
    authorize(caller, Action.CONSOLIDATE_TRACKERS, (Relation.ANY,))
    _check_key(idempotency_key)
    consolidation_id = keyed_id("tracker-consolidation", caller.employee_id, idempotency_key)
    trail.about(record_id=consolidation_id)
    request = ConsolidationInput(
        consolidation_id=consolidation_id,
        member_id=member_id,
        tracker_ids=body.tracker_ids,
        employee_id=caller.employee_id,
    )
    return await run_keyed(
        desk.temporal,
        ConsolidateTrackersWorkflow.run,
        request,
        workflow_id=tracker_consolidation_workflow_id(consolidation_id),
        task_queue=desk.settings.temporal.task_queue,
        request_print=fingerprint(member_id, body),
        idempotency_key=idempotency_key,
        deadline_seconds=desk.settings.api_update_timeout_seconds,
        what="consolidation",
        precheck=_refusing(lambda: check_consolidation(desk.sessions, desk.ops, request)),
    )


@router.post(
    "/{member_id}/trackers/copies",
    response_model=CopyResult,
    summary="Copy a Tracker's conversations to another membership",
    description=_KEY_HELP,
    responses=_REFUSALS,
)
async def copy_tracker(
    desk: DeskDep,
    member_id: str,
    body: CopyBody,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.MEMBER_TRACKERS_COPY)],
    idempotency_key: IdempotencyKey,
) -> CopyResult:
    """Write copies of the Tracker's conversations on the other membership, each linked to its
    source (which is left as it is)."""
    check_member_id(member_id)
    trail.about(member_id=member_id)
    authorize(caller, Action.COPY_TRACKERS, (Relation.ANY,))
    _check_key(idempotency_key)
    copy_id = keyed_id("tracker-copy", caller.employee_id, idempotency_key)
    trail.about(record_id=copy_id)
    request = CopyInput(
        copy_id=copy_id,
        member_id=member_id,
        tracker_id=body.tracker_id,
        conversation_ids=body.conversation_ids,
        to_member_id=body.to_member_id,
        employee_id=caller.employee_id,
    )
    return await run_keyed(
        desk.temporal,
        CopyTrackerWorkflow.run,
        request,
        workflow_id=tracker_copy_workflow_id(copy_id),
        task_queue=desk.settings.temporal.task_queue,
        request_print=fingerprint(member_id, body),
        idempotency_key=idempotency_key,
        deadline_seconds=desk.settings.api_update_timeout_seconds,
        what="copy",
        precheck=_refusing(lambda: plan_copy(desk.sessions, desk.ops, request)),
    )
