"""``/tier-scoring/runs`` and ``/members/{member_id}/tier``: scoring runs and points summaries."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import ValidationError
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from contracts.ids import tier_scoring_workflow_id
from contracts.platform.permissions import Action, Relation
from contracts.tiers.runs import (
    PERIOD_PATTERN,
    MemberTierView,
    TierRunProgress,
    TierRunReport,
    TierRunRequest,
    TierRunView,
)
from workers.platform.audit import AuditAction
from workers.platform.database import Sessions
from workers.platform.settings import Settings
from workers.platform.web.access import authorize
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import SessionsDep, SettingsDep, TemporalDep
from workers.platform.web.trail import AccessTrail, audited
from workers.tiers.runs import persist
from workers.tiers.runs import steps as runs
from workers.tiers.runs.schedule import start_or_get_run

router = APIRouter(prefix="", tags=["tiers"])

MEMBER_ID = re.compile(r"^[0-9]{1,12}$")
_STATE_BY_STATUS = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "running",
}


def _check_period(period: str) -> None:
    if not PERIOD_PATTERN.match(period):
        raise HTTPException(422, detail="period must be YYYY-MM (month 01-12)")


async def run_view(sessions: Sessions, temporal: Client, period: str) -> TierRunView | None:
    """A period's run: the stored record, with live progress or the failure from Temporal.

    Args:
        sessions: The store.
        temporal: A Temporal client.
        period: ``YYYY-MM``.

    Returns:
        The view, or None when the period never ran.
    """
    async with persist.raw_connection(sessions) as conn:
        stored = await persist.get_run(conn, period)
    workflow_id = tier_scoring_workflow_id(period)
    view = TierRunView(period=period, state="unknown", workflow_id=workflow_id)
    if stored is not None:
        view = TierRunView(
            period=period,
            state=stored["state"],
            workflow_id=stored["workflow_id"],
            started_at=stored["started_at"],
            finished_at=stored["finished_at"],
            report=(TierRunReport.model_validate(stored["report"]) if stored["report"] else None),
        )
    handle = temporal.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return view if stored is not None else None
    status = description.status
    if status is not None and (stored is None or stored["state"] == "running"):
        view.state = _STATE_BY_STATUS.get(status, view.state)
        view.started_at = view.started_at or description.start_time
        view.finished_at = view.finished_at or description.close_time
    if status == WorkflowExecutionStatus.RUNNING:
        try:
            view.progress = await handle.query("progress", result_type=TierRunProgress)
        except RPCError:
            view.progress = None  # no worker polling right now: state alone
    elif status in (WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TERMINATED):
        try:
            await handle.result()
        except WorkflowFailureError as err:
            view.error = _failure_message(err)
    return view


def _failure_message(err: WorkflowFailureError) -> str:
    cause: Any = err.cause
    message = str(cause) if cause is not None else str(err)
    while cause is not None and getattr(cause, "cause", None) is not None:
        cause = cause.cause
        message = str(cause)
    return message


@router.post(
    "/tier-scoring/runs", response_model=TierRunView, summary="Start (or return) a period's run"
)
async def start_run(
    request: Request,
    sessions: SessionsDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.TIER_RUN_START)],
) -> TierRunView:
    """Start the period's scoring run, or return the running or completed one."""
    authorize(caller, Action.START_TIER_RUN, (Relation.ANY,))
    try:
        body = TierRunRequest.model_validate(await request.json())
    except (ValidationError, ValueError, RecursionError) as err:
        # RecursionError: JSON nested too deeply for the parser (a 500 otherwise).
        raise HTTPException(422, detail='body must be {"period": "YYYY-MM"}') from err
    trail.about(record_id=body.period)
    handle, _ = await start_or_get_run(temporal, settings.temporal.task_queue, body.period)
    view = await run_view(sessions, temporal, body.period)
    if view is None:  # just started, prepare has not recorded it yet
        view = TierRunView(period=body.period, state="running", workflow_id=handle.id)
    return view


@router.get(
    "/tier-scoring/runs/{period}", response_model=TierRunView, summary="A period's run and report"
)
async def get_run(
    sessions: SessionsDep, temporal: TemporalDep, period: str, caller: CurrentEmployee
) -> TierRunView:
    """Run state, counts per level, movement and timings of one period."""
    authorize(caller, Action.READ_TIER_RUN, (Relation.ANY,))
    _check_period(period)
    view = await run_view(sessions, temporal, period)
    if view is None:
        raise HTTPException(404, detail=f"no tier scoring run for {period}")
    return view


@router.get(
    "/members/{member_id}/tier", response_model=MemberTierView, summary="Member's points summary"
)
async def member_tier(
    sessions: SessionsDep,
    settings: SettingsDep,
    member_id: str,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.MEMBER_TIER_READ)],
    period: Annotated[str | None, Query(description="YYYY-MM; default the latest")] = None,
) -> MemberTierView:
    """Level, total, possible points, and points by goal and by item of one member."""
    if not MEMBER_ID.match(member_id):
        raise HTTPException(422, detail="member_id must be 1-12 digits")
    trail.about(member_id=member_id)
    # After the trail knows the member: a refused read of a member's data is recorded too.
    authorize(caller, Action.READ_MEMBER_TIER, (Relation.ANY,))
    if period is not None:
        _check_period(period)
        trail.about(record_id=period)
    async with persist.raw_connection(sessions) as conn:
        row = await persist.member_result(conn, member_id, period)
    if row is None:
        raise HTTPException(404, detail=f"member {member_id} has no tier result")
    return member_view(row, configured_items(settings))


def configured_items(settings: Settings) -> list[str]:
    """Item ids of the configured program (empty when it cannot be loaded)."""
    from workers.tiers.scoring.program import ProgramError, load_program

    path = runs.program_path(settings)
    try:
        return load_program(path).configured_items()
    except (OSError, ProgramError):
        return []


def member_view(row: dict[str, Any], items: list[str] | None = None) -> MemberTierView:
    """The API view of a stored result row.

    Stored ``points_by_item`` holds the non-zero items only; ``items`` (the program's
    configured items) are added back with 0 points.
    """
    points_by_item = dict.fromkeys(items or [], 0)
    points_by_item.update({str(k): int(v) for k, v in row["points_by_item"].items()})
    possible = {str(k): int(v) for k, v in row["possible_by_goal"].items()}
    return MemberTierView(
        member_id=row["member_id"],
        period=row["period"],
        level_code=row["level_code"],
        level_name=row["level_name"],
        previous_level_code=row["previous_level_code"],
        total=row["total"],
        household_total=row["household_total"],
        possible_points=sum(possible.values()),
        atm_service_charge_code=row["atm_service_charge_code"],
        points_by_goal={str(k): int(v) for k, v in row["points_by_goal"].items()},
        possible_by_goal=possible,
        points_by_item=points_by_item,
    )
