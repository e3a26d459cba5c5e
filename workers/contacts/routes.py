"""``/contact-requests``: the Private Contacts queue and the actions on one request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from temporalio.workflow import UpdateMethodMultiParam

from contracts.contacts.workflow import (
    ContactRequestView,
    EmployeeAction,
    FollowUpRequest,
    ReplyInput,
)
from contracts.ids import contact_request_workflow_id
from contracts.platform.permissions import Action, Relation, allowed
from contracts.platform.relations import request_relations
from contracts.vocabulary import BusinessKey, RequestState
from workers.contacts import contact_store as contacts
from workers.contacts.schemas import ContactRequestDetail, QueueList, ReplyAnswer, ReplyBody
from workers.platform.audit import AuditAction
from workers.platform.database import Sessions
from workers.platform.directory import directory_entries
from workers.platform.web.access import authorize, request_relations_of
from workers.platform.web.auth import Caller, CurrentEmployee
from workers.platform.web.dependencies import OpsDep, SessionsDep, UpdatesDep
from workers.platform.web.trail import AccessTrail, audited
from workers.platform.web.updates import DeskUpdates
from workflows.contacts.contact_request import ContactRequestWorkflow

router = APIRouter(prefix="/contact-requests", tags=["contact requests"])

STATES = {state.value for state in RequestState}

StateUpdate = UpdateMethodMultiParam[[ContactRequestWorkflow, EmployeeAction], ContactRequestView]
"""Claim, release or delete: an Update taking the caller and answering the request's state."""


async def _request(
    sessions: Sessions, request_id: str, trail: AccessTrail | None = None
) -> ContactRequestDetail:
    """The request named in the path, or 404; names it (and its member) in the access trail."""
    if trail is not None:
        trail.about(record_id=request_id)
    record = await contacts.get_contact_request(sessions, request_id)
    if record is None:
        raise HTTPException(404, detail=f"contact request {request_id} not found")
    if trail is not None:
        trail.about(member_id=record.member_id)
    return record


async def _authorize(
    sessions: Sessions, caller: Caller, record: ContactRequestDetail, action: Action
) -> None:
    """403 unless the table lets the caller take ``action`` on this request."""
    relations = await request_relations_of(sessions, caller, record.department, record.claimed_by)
    authorize(caller, action, relations)


def _refuse_finished(record: ContactRequestDetail) -> None:
    if RequestState(record.state).is_final:
        raise HTTPException(
            409, detail=f"contact request {record.request_id} is already {record.state}"
        )


@router.get("", response_model=QueueList, summary="The queue, oldest first")
async def list_requests(
    sessions: SessionsDep,
    ops: OpsDep,
    caller: CurrentEmployee,
    state: Annotated[str, Query(description="queued, claimed, replied or deleted")] = "queued",
    department: Annotated[str | None, Query(description="a configured department code")] = None,
) -> QueueList:
    """Requests in a state that the caller may read; the ``claimed`` list holds the claims the
    caller may release (their own; a supervisor's reports' and departments' too)."""
    if state not in STATES:
        raise HTTPException(422, detail=f"state must be one of {', '.join(sorted(STATES))}")
    known = {d.code for d in ops.departments}
    if department is not None and department not in known:
        raise HTTPException(422, detail=f"department must be one of {', '.join(sorted(known))}")
    asked = Relation.ANY
    if department is not None:
        asked = Relation.DEPARTMENT if department in caller.departments else Relation.OTHER
    authorize(caller, Action.LIST_REQUESTS, (asked,))
    records = await contacts.list_contact_requests(sessions, state=state, department=department)
    # The same rule as for one request, row by row (claimants read once, for "report").
    shown = Action.RELEASE_REQUEST if state == RequestState.CLAIMED else Action.READ_REQUEST
    claimants = await directory_entries(sessions, {r.claimed_by for r in records if r.claimed_by})
    me = caller.entry
    records = [
        r
        for r in records
        if allowed(
            shown,
            caller.role,
            request_relations(me, r.department, r.claimed_by, claimants.get(r.claimed_by or "")),
        )
    ]
    return QueueList(items=[r.queue_item() for r in records])


@router.get("/{request_id}", response_model=ContactRequestDetail, summary="One request")
async def get_request(
    sessions: SessionsDep,
    request_id: BusinessKey,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.CONTACT_REQUEST_READ)],
) -> ContactRequestDetail:
    """The request with the member's message and callback details."""
    record = await _request(sessions, request_id, trail)
    await _authorize(sessions, caller, record, Action.READ_REQUEST)
    return record


async def _update_state(
    sessions: Sessions,
    updates: DeskUpdates,
    request_id: str,
    update: StateUpdate,
    caller: Caller,
    trail: AccessTrail,
    permission: Action,
) -> ContactRequestDetail:
    record = await _request(sessions, request_id, trail)
    await _authorize(sessions, caller, record, permission)
    _refuse_finished(record)
    action = EmployeeAction(employee_id=caller.employee_id, role=caller.role)
    view = await updates.execute(
        contact_request_workflow_id(request_id),
        update,
        action,
        what=f"contact request {request_id}",
    )
    # The Update answers with the new state: no second read of the queue table.
    changed = {
        "state": view.state.value,
        "claimed_by": view.claimed_by,
        "claimed_until": view.claimed_until,
    }
    return record.model_copy(update=changed)


@router.post("/{request_id}/claim", response_model=ContactRequestDetail, summary="Claim")
async def claim(
    sessions: SessionsDep,
    updates: UpdatesDep,
    request_id: BusinessKey,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.CONTACT_REQUEST_CLAIM)],
) -> ContactRequestDetail:
    """Take the request; it leaves the other employees' queue until released or the claim lapses."""
    update = ContactRequestWorkflow.claim
    permission = Action.CLAIM_REQUEST
    return await _update_state(sessions, updates, request_id, update, caller, trail, permission)


@router.post("/{request_id}/release", response_model=ContactRequestDetail, summary="Release")
async def release(
    sessions: SessionsDep,
    updates: UpdatesDep,
    request_id: BusinessKey,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.CONTACT_REQUEST_RELEASE)],
) -> ContactRequestDetail:
    """Put the request back in the queue."""
    update = ContactRequestWorkflow.release
    permission = Action.RELEASE_REQUEST
    return await _update_state(sessions, updates, request_id, update, caller, trail, permission)


@router.post("/{request_id}/delete", response_model=ContactRequestDetail, summary="Delete")
async def delete(
    sessions: SessionsDep,
    updates: UpdatesDep,
    request_id: BusinessKey,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.CONTACT_REQUEST_DELETE)],
) -> ContactRequestDetail:
    """Delete the request; no Tracker is written."""
    update = ContactRequestWorkflow.delete
    permission = Action.DELETE_REQUEST
    return await _update_state(sessions, updates, request_id, update, caller, trail, permission)


@router.post("/{request_id}/reply", response_model=ReplyAnswer, summary="Reply")
async def reply(
    sessions: SessionsDep,
    updates: UpdatesDep,
    request_id: BusinessKey,
    body: ReplyBody,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.CONTACT_REQUEST_REPLY)],
) -> ReplyAnswer:
    """Send the reply to the member, copy it to the Tracker, optionally open a follow-up."""
    record = await _request(sessions, request_id, trail)
    await _authorize(sessions, caller, record, Action.REPLY_REQUEST)
    _refuse_finished(record)
    follow_up = None
    if body.follow_up is not None:
        from workers.platform.employees import get_employee

        assignee = body.follow_up.assignee_employee_id
        # Checked before the workflow is asked, so an unknown assignee writes nothing at all.
        if await get_employee(sessions, assignee) is None:
            raise HTTPException(
                422, detail=f"assignee_employee_id {assignee} is not a known employee"
            )
        follow_up = FollowUpRequest(
            assignee_employee_id=assignee, due_on=body.follow_up.due_on, note=body.follow_up.note
        )
    result = await updates.execute(
        contact_request_workflow_id(request_id),
        ContactRequestWorkflow.reply,
        ReplyInput(
            employee_id=caller.employee_id,
            body=body.body,
            copy_to_tracker=body.copy_to_tracker,
            follow_up=follow_up,
        ),
        what=f"contact request {request_id}",
    )
    return ReplyAnswer.model_validate(result, from_attributes=True)
