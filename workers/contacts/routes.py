"""``/contact-requests``: the Private Contacts queue and the actions on one request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from contracts.contacts.workflow import (
    ContactRequestView,
    EmployeeAction,
    FollowUpRequest,
    ReplyInput,
    ReplyResult,
)
from contracts.ids import contact_request_workflow_id
from workers.contacts import contact_store as contacts
from workers.contacts.records import ContactRequestRecord
from workers.contacts.schemas import (
    ContactRequestDetail,
    QueueItem,
    QueueList,
    ReplyAnswer,
    ReplyBody,
)
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.errors import http_error
from workflows.contacts.contact_request import ContactRequestWorkflow

router = APIRouter(prefix="/contact-requests", tags=["contact requests"])

STATES = {"queued", "claimed", "replied", "deleted"}


def _item(record: ContactRequestRecord) -> QueueItem:
    return QueueItem(
        request_id=record.request_id,
        member_id=record.member_id,
        subject=record.subject,
        department=record.department,
        state=record.state,
        claimed_by=record.claimed_by,
        submitted_at=record.submitted_at,
    )


def _detail(record: ContactRequestRecord) -> ContactRequestDetail:
    return ContactRequestDetail(
        **_item(record).model_dump(),
        channel=record.channel,
        message=record.message,
        callback_phone=record.callback_phone,
        callback_method=record.callback_method,
        in_reply_to=record.in_reply_to,
        claimed_until=record.claimed_until,
    )


async def _record(request: Request, request_id: str) -> ContactRequestRecord:
    record = await contacts.get_contact_request(request.app.state.sessions, request_id)
    if record is None:
        raise HTTPException(404, detail=f"contact request {request_id} not found")
    return record


def _refuse_finished(record: ContactRequestRecord) -> None:
    if record.state in ("replied", "deleted"):
        raise HTTPException(
            409, detail=f"contact request {record.request_id} is already {record.state}"
        )


def _temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


@router.get("", response_model=QueueList, summary="The queue, oldest first")
async def list_requests(
    request: Request,
    caller: CurrentEmployee,
    state: Annotated[str, Query(description="queued, claimed, replied or deleted")] = "queued",
    department: Annotated[str | None, Query(description="a configured department code")] = None,
) -> QueueList:
    """Requests in a state; a claimed request shows only in its claimant's ``claimed`` list
    (supervisors see every claim)."""
    if state not in STATES:
        raise HTTPException(422, detail=f"state must be one of {', '.join(sorted(STATES))}")
    known = {d.code for d in request.app.state.ops.departments}
    if department is not None and department not in known:
        raise HTTPException(422, detail=f"department must be one of {', '.join(sorted(known))}")
    records = await contacts.list_contact_requests(
        request.app.state.sessions, state=state, department=department
    )
    if state == "claimed" and not caller.is_supervisor:
        records = [r for r in records if r.claimed_by == caller.employee_id]
    return QueueList(items=[_item(r) for r in records])


@router.get("/{request_id}", response_model=ContactRequestDetail, summary="One request")
async def get_request(
    request: Request, request_id: str, caller: CurrentEmployee
) -> ContactRequestDetail:
    """The request with the member's message and callback details."""
    return _detail(await _record(request, request_id))


async def _update_state(
    request: Request, request_id: str, update: object, action: EmployeeAction
) -> ContactRequestDetail:
    record = await _record(request, request_id)
    _refuse_finished(record)
    handle = _temporal(request).get_workflow_handle(contact_request_workflow_id(request_id))
    try:
        view: ContactRequestView = await handle.execute_update(update, action)  # type: ignore[call-overload]
    except (WorkflowUpdateFailedError, RPCError) as exc:
        raise http_error(exc, f"contact request {request_id}") from exc
    # The Update answers with the new state: no second read of the queue table.
    changed = {
        "state": view.state.value,
        "claimed_by": view.claimed_by,
        "claimed_until": view.claimed_until,
    }
    return _detail(record.model_copy(update=changed))


@router.post("/{request_id}/claim", response_model=ContactRequestDetail, summary="Claim")
async def claim(request: Request, request_id: str, caller: CurrentEmployee) -> ContactRequestDetail:
    """Take the request; it leaves the other employees' queue until released or the claim lapses."""
    action = EmployeeAction(employee_id=caller.employee_id, role=caller.role)
    return await _update_state(request, request_id, ContactRequestWorkflow.claim, action)


@router.post("/{request_id}/release", response_model=ContactRequestDetail, summary="Release")
async def release(
    request: Request, request_id: str, caller: CurrentEmployee
) -> ContactRequestDetail:
    """Put the request back in the queue."""
    action = EmployeeAction(employee_id=caller.employee_id, role=caller.role)
    return await _update_state(request, request_id, ContactRequestWorkflow.release, action)


@router.post("/{request_id}/delete", response_model=ContactRequestDetail, summary="Delete")
async def delete(
    request: Request, request_id: str, caller: CurrentEmployee
) -> ContactRequestDetail:
    """Delete the request; no Tracker is written."""
    action = EmployeeAction(employee_id=caller.employee_id, role=caller.role)
    return await _update_state(request, request_id, ContactRequestWorkflow.delete, action)


@router.post("/{request_id}/reply", response_model=ReplyAnswer, summary="Reply")
async def reply(
    request: Request, request_id: str, body: ReplyBody, caller: CurrentEmployee
) -> ReplyAnswer:
    """Send the reply to the member, copy it to the Tracker, optionally open a follow-up."""
    record = await _record(request, request_id)
    _refuse_finished(record)
    follow_up = None
    if body.follow_up is not None:
        from workers.platform.employees import get_employee

        assignee = body.follow_up.assignee_employee_id
        # Checked before the workflow is asked, so an unknown assignee writes nothing at all.
        if await get_employee(request.app.state.sessions, assignee) is None:
            raise HTTPException(
                422, detail=f"assignee_employee_id {assignee} is not a known employee"
            )
        follow_up = FollowUpRequest(
            assignee_employee_id=assignee, due_on=body.follow_up.due_on, note=body.follow_up.note
        )
    handle = _temporal(request).get_workflow_handle(contact_request_workflow_id(request_id))
    try:
        result: ReplyResult = await handle.execute_update(
            ContactRequestWorkflow.reply,
            ReplyInput(
                employee_id=caller.employee_id,
                body=body.body,
                copy_to_tracker=body.copy_to_tracker,
                follow_up=follow_up,
            ),
        )
    except (WorkflowUpdateFailedError, RPCError) as exc:
        raise http_error(exc, f"contact request {request_id}") from exc
    return ReplyAnswer(**result.model_dump(mode="json"))
