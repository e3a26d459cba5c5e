"""``/sales-leads``: the Sales Tracker lead list and the outcome that completes a lead.

A lead is an outstanding follow-up on a Tracker type flagged ``sales_display``
(``workers/trackers/sales_leads.py``). Recording an outcome is the follow-up's own completion:
the same ``FollowUpWorkflow.complete`` Update as ``POST /follow-ups/{id}/complete``, with the
outcome, which the closing note names and the completion stores.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from contracts.ids import follow_up_workflow_id
from contracts.platform.operations import OpsConfig
from contracts.platform.permissions import Action, Relation
from contracts.trackers.follow_ups import CompleteInput
from contracts.trackers.sales_leads import SalesOutcome
from contracts.vocabulary import DueDate, EmployeeId, FollowUpStatus, NoteText, RecordId
from workers.platform.audit import AuditAction
from workers.platform.database import Sessions
from workers.platform.errors import StoreError
from workers.platform.web.access import authorize, person_relations_of
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import OpsDep, SessionsDep, TodayDep, UpdatesDep
from workers.platform.web.errors import STATUS_BY_REFUSAL
from workers.platform.web.trail import AccessTrail, audited
from workers.trackers import sales_leads as leads
from workflows.trackers.follow_up import FollowUpWorkflow

router = APIRouter(prefix="/sales-leads", tags=["sales leads"])

EVERYONE = "*"
"""``assignee=*``: every employee's leads (the supervisory view)."""


class LeadPage(BaseModel):
    """``GET /sales-leads``: one page of leads, and where the next one starts."""

    items: list[leads.SalesLead]
    next_cursor: str | None = None
    """Pass as ``cursor`` for the next page; None on the last page."""


class OutcomeBody(BaseModel):
    """``POST /sales-leads/{follow_up_id}/outcome``."""

    model_config = ConfigDict(extra="forbid")

    outcome: SalesOutcome
    note: NoteText | None = Field(default=None, repr=False)


@router.get("", response_model=LeadPage, summary="Open sales leads, earliest due first")
async def list_sales_leads(
    sessions: SessionsDep,
    ops: OpsDep,
    today: TodayDep,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.SALES_LEADS_READ)],
    assignee: Annotated[
        EmployeeId | None, Query(description="employee id, or * for everyone (default: caller)")
    ] = None,
    task: Annotated[str | None, Query(description="a configured Task code")] = None,
    due_by: Annotated[DueDate | None, Query(description="due on or before (YYYY-MM-DD)")] = None,
    overdue: Annotated[bool, Query(description="only leads past their due date")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> LeadPage:
    """Outstanding follow-ups on ``sales_display`` Tracker types, with their conversation."""
    whose = assignee or caller.employee_id
    if whose == EVERYONE:
        relations: frozenset[Relation] = frozenset({Relation.ANY})
    else:
        relations = await person_relations_of(sessions, caller, whose)
    authorize(caller, Action.LIST_SALES_LEADS, relations)
    known = sorted(t.code for t in ops.tasks)
    if task is not None and task not in known:
        raise HTTPException(422, detail=f"task must be one of {', '.join(known)}")
    where = leads.LeadFilter(
        assignee=None if whose == EVERYONE else whose, task=task, due_by=due_by, overdue=overdue
    )
    try:
        items, next_cursor = await leads.list_leads(
            sessions, ops, where=where, today=today, limit=limit, cursor=cursor
        )
    except leads.BadLeadCursorError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return LeadPage(items=items, next_cursor=next_cursor)


async def _lead(
    sessions: Sessions, ops: OpsConfig, today: date, follow_up_id: str
) -> leads.SalesLead:
    lead = await leads.get_lead(sessions, ops, follow_up_id, today=today)
    if lead is None:
        raise HTTPException(404, detail=f"follow-up {follow_up_id} not found")
    return lead


@router.post(
    "/{follow_up_id}/outcome",
    response_model=leads.SalesLead,
    summary="Record a lead's outcome (completes its follow-up)",
    responses={409: {"description": "not a sales lead, or already completed"}},
)
async def record_outcome(
    sessions: SessionsDep,
    ops: OpsDep,
    updates: UpdatesDep,
    today: TodayDep,
    follow_up_id: RecordId,
    body: OutcomeBody,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.SALES_LEAD_OUTCOME)],
) -> leads.SalesLead:
    """Complete the lead with its outcome; the same outcome again answers the lead as it is."""
    trail.about(record_id=follow_up_id)
    lead = await _lead(sessions, ops, today, follow_up_id)
    trail.about(member_id=lead.member_id)
    assignee = await person_relations_of(sessions, caller, lead.assignee_employee_id)
    authorize(caller, Action.RECORD_SALES_OUTCOME, assignee)
    try:
        leads.check_lead_type(ops, follow_up_id, lead.tracker_type)
    except StoreError as exc:
        raise HTTPException(STATUS_BY_REFUSAL[exc.kind], detail=str(exc)) from None
    if lead.status is FollowUpStatus.COMPLETED:
        return _already(lead, body.outcome)
    action = CompleteInput(
        employee_id=caller.employee_id, role=caller.role, note=body.note, outcome=body.outcome
    )
    try:
        await updates.execute(
            follow_up_workflow_id(follow_up_id),
            FollowUpWorkflow.complete,
            action,
            what=f"follow-up {follow_up_id}",
        )
    except HTTPException as exc:
        # Two tries racing (a client's retry while the first is in flight): the loser is
        # refused by the workflow; if the winner recorded the same outcome, that is the answer.
        if exc.status_code != 409:
            raise
        now = await _lead(sessions, ops, today, follow_up_id)
        if now.status is not FollowUpStatus.COMPLETED:
            raise  # refused for another reason: its own detail
        return _already(now, body.outcome)
    return await _lead(sessions, ops, today, follow_up_id)


def _already(lead: leads.SalesLead, outcome: SalesOutcome) -> leads.SalesLead:
    """A completed lead: itself again for a retry of its outcome, 409 otherwise."""
    if lead.status is FollowUpStatus.COMPLETED and lead.outcome is outcome:
        return lead
    recorded = f" with outcome {lead.outcome.value}" if lead.outcome else ""
    raise HTTPException(409, detail=f"follow-up {lead.follow_up_id} is already completed{recorded}")
