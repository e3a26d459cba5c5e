"""``/members/{member_id}``: Trackers and secure messages of one member."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException

from contracts.platform.permissions import Action, Relation
from contracts.vocabulary import MEMBER_ID_PATTERN
from workers.contacts import contact_store as contacts
from workers.platform.audit import AuditAction
from workers.platform.web.access import authorize
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import SessionsDep, TodayDep
from workers.platform.web.schemas import Items
from workers.platform.web.trail import AccessTrail, audited
from workers.trackers import tracker_store as trackers

router = APIRouter(prefix="/members", tags=["members"])

MEMBER_ID = re.compile(MEMBER_ID_PATTERN)


def check_member_id(member_id: str) -> None:
    """422 unless the id is 1-12 digits (the membership's base account number)."""
    if not MEMBER_ID.match(member_id):
        raise HTTPException(422, detail="member_id must be 1-12 digits")


@router.get("/{member_id}/trackers", response_model=Items, summary="The member's Trackers")
async def member_trackers(
    sessions: SessionsDep,
    today: TodayDep,
    member_id: str,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.MEMBER_TRACKERS_READ)],
) -> Items:
    """Every Tracker of the member, each with its conversations newest first."""
    check_member_id(member_id)
    trail.about(member_id=member_id)
    # After the trail knows the member: a refused read of a member's data is recorded too.
    authorize(caller, Action.READ_MEMBER_TRACKERS, (Relation.ANY,))
    records = await trackers.member_trackers(sessions, member_id, today=today)
    return Items(items=[r.model_dump(mode="json") for r in records])


@router.get("/{member_id}/messages", response_model=Items, summary="The member's secure messages")
async def member_messages(
    sessions: SessionsDep,
    member_id: str,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.MEMBER_MESSAGES_READ)],
) -> Items:
    """What the banking channel shows the member at next login."""
    check_member_id(member_id)
    trail.about(member_id=member_id)
    # After the trail knows the member: a refused read of a member's data is recorded too.
    authorize(caller, Action.READ_MEMBER_MESSAGES, (Relation.ANY,))
    records = await contacts.member_messages(sessions, member_id)
    return Items(items=[r.model_dump(mode="json") for r in records])
