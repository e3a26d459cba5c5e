"""``/follow-ups``: an employee's follow-up queue and the actions on one follow-up."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from contracts.ids import follow_up_workflow_id
from contracts.platform.permissions import Action, Relation
from contracts.trackers.follow_ups import AddNoteInput, CompleteInput, NextFollowUp, ReassignInput
from contracts.vocabulary import EmployeeId, FollowUpFilter, FollowUpStatus, RecordId
from workers.platform import employees
from workers.platform.audit import AuditAction
from workers.platform.database import Sessions
from workers.platform.web.access import authorize, person_relations_of
from workers.platform.web.auth import Caller, CurrentEmployee
from workers.platform.web.dependencies import SessionsDep, TodayDep, UpdatesDep
from workers.platform.web.schemas import Items
from workers.platform.web.trail import AccessTrail, audited
from workers.trackers import follow_up_store as followups
from workers.trackers.schemas import CompleteBody, NoteBody, ReassignBody
from workflows.trackers.follow_up import FollowUpWorkflow

router = APIRouter(prefix="/follow-ups", tags=["follow-ups"])

STATUSES = {status.value for status in FollowUpFilter}


@router.get("", response_model=Items, summary="Follow-ups (Tool #5 queue)")
async def list_follow_ups(
    sessions: SessionsDep,
    today: TodayDep,
    caller: CurrentEmployee,
    assignee: Annotated[
        EmployeeId | None, Query(description="employee id (default: the caller)")
    ] = None,
    status: Annotated[
        str, Query(description="outstanding, overdue, completed or all")
    ] = "outstanding",
) -> Items:
    """The caller's follow-ups, or another employee's (the supervisory view)."""
    if status not in STATUSES:
        raise HTTPException(422, detail=f"status must be one of {', '.join(sorted(STATUSES))}")
    whose = await person_relations_of(sessions, caller, assignee or caller.employee_id)
    authorize(caller, Action.LIST_FOLLOW_UPS, whose)
    records = await followups.list_follow_ups(
        sessions,
        assignee=assignee or caller.employee_id,
        status=FollowUpFilter(status),
        today=today,
    )
    return Items(items=[r.model_dump(mode="json") for r in records])


async def _thread(sessions: Sessions, follow_up_id: str, today: date) -> dict[str, Any]:
    thread = await followups.get_follow_up_with_thread(sessions, follow_up_id, today=today)
    if thread is None:
        raise HTTPException(404, detail=f"follow-up {follow_up_id} not found")
    body: dict[str, Any] = thread.follow_up.model_dump(mode="json")
    body["thread"] = thread.model_dump(mode="json", exclude={"follow_up"})
    return body


@router.get("/{follow_up_id}", summary="One follow-up with its conversation thread")
async def get_follow_up(
    sessions: SessionsDep,
    today: TodayDep,
    follow_up_id: RecordId,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.FOLLOW_UP_READ)],
) -> dict[str, Any]:
    """The follow-up, its notes, the follow-ups chained to it and its reassignment history."""
    trail.about(record_id=follow_up_id)
    authorize(caller, Action.READ_FOLLOW_UP, (Relation.ANY,))
    body = await _thread(sessions, follow_up_id, today)
    trail.about(member_id=body["member_id"])
    return body


async def _require_open(
    sessions: Sessions,
    follow_up_id: str,
    today: date,
    trail: AccessTrail,
    caller: Caller,
    action: Action,
) -> None:
    """404 unknown, 403 not the caller's to act on (by its assignee), 409 completed."""
    trail.about(record_id=follow_up_id)
    record = await followups.get_follow_up(sessions, follow_up_id, today=today)
    if record is None:
        raise HTTPException(404, detail=f"follow-up {follow_up_id} not found")
    trail.about(member_id=record.member_id)
    assignee = await person_relations_of(sessions, caller, record.assignee_employee_id)
    authorize(caller, action, assignee)
    if record.status is FollowUpStatus.COMPLETED:
        raise HTTPException(409, detail=f"follow-up {follow_up_id} is already completed")


async def _require_employee(sessions: Sessions, employee_id: str) -> None:
    if await employees.get_employee(sessions, employee_id) is None:
        raise HTTPException(
            422, detail=f"assignee_employee_id {employee_id} is not a known employee"
        )


@router.post("/{follow_up_id}/complete", summary="Complete (the assignee or their supervisor)")
async def complete(
    sessions: SessionsDep,
    updates: UpdatesDep,
    today: TodayDep,
    follow_up_id: RecordId,
    body: CompleteBody,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.FOLLOW_UP_COMPLETE)],
) -> dict[str, Any]:
    """Mark the follow-up completed; only its assignee or a supervisor overseeing them may."""
    await _require_open(sessions, follow_up_id, today, trail, caller, Action.COMPLETE_FOLLOW_UP)
    action = CompleteInput(employee_id=caller.employee_id, role=caller.role, note=body.note)
    await updates.execute(
        follow_up_workflow_id(follow_up_id),
        FollowUpWorkflow.complete,
        action,
        what=f"follow-up {follow_up_id}",
    )
    return await _thread(sessions, follow_up_id, today)


@router.post("/{follow_up_id}/reassign", summary="Reassign to another employee")
async def reassign(
    sessions: SessionsDep,
    updates: UpdatesDep,
    today: TodayDep,
    follow_up_id: RecordId,
    body: ReassignBody,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.FOLLOW_UP_REASSIGN)],
) -> dict[str, Any]:
    """Hand the follow-up to another employee, who is notified."""
    await _require_open(sessions, follow_up_id, today, trail, caller, Action.REASSIGN_FOLLOW_UP)
    await _require_employee(sessions, body.assignee_employee_id)
    action = ReassignInput(
        employee_id=caller.employee_id,
        role=caller.role,
        assignee_employee_id=body.assignee_employee_id,
        note=body.note,
    )
    await updates.execute(
        follow_up_workflow_id(follow_up_id),
        FollowUpWorkflow.reassign,
        action,
        what=f"follow-up {follow_up_id}",
    )
    return await _thread(sessions, follow_up_id, today)


@router.post("/{follow_up_id}/notes", summary="Add a note (optionally with a next follow-up)")
async def add_note(
    sessions: SessionsDep,
    updates: UpdatesDep,
    today: TodayDep,
    follow_up_id: RecordId,
    body: NoteBody,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.FOLLOW_UP_NOTE)],
) -> dict[str, Any]:
    """Add a conversation; with ``next_follow_up`` this one completes and a new one opens."""
    await _require_open(sessions, follow_up_id, today, trail, caller, Action.NOTE_FOLLOW_UP)
    next_follow_up = None
    if body.next_follow_up is not None:
        await _require_employee(sessions, body.next_follow_up.assignee_employee_id)
        next_follow_up = NextFollowUp(
            assignee_employee_id=body.next_follow_up.assignee_employee_id,
            due_on=body.next_follow_up.due_on,
        )
    action = AddNoteInput(
        employee_id=caller.employee_id,
        role=caller.role,
        note=body.note,
        memo_type=body.memo_type,
        next_follow_up=next_follow_up,
    )
    result = await updates.execute(
        follow_up_workflow_id(follow_up_id),
        FollowUpWorkflow.add_note,
        action,
        what=f"follow-up {follow_up_id}",
    )
    answer = await _thread(sessions, follow_up_id, today)
    answer["note_result"] = result.model_dump(mode="json")
    return answer
