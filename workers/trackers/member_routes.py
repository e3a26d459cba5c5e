"""``/members/{member_id}``: Trackers and secure messages of one member."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException

from contracts.vocabulary import MEMBER_ID_PATTERN
from workers.contacts import contact_store as contacts
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import SessionsDep, TodayDep
from workers.platform.web.schemas import Items
from workers.trackers import tracker_store as trackers

router = APIRouter(prefix="/members", tags=["members"])

MEMBER_ID = re.compile(MEMBER_ID_PATTERN)


def check_member_id(member_id: str) -> None:
    """422 unless the id is 1-12 digits (the membership's base account number)."""
    if not MEMBER_ID.match(member_id):
        raise HTTPException(422, detail="member_id must be 1-12 digits")


@router.get("/{member_id}/trackers", response_model=Items, summary="The member's Trackers")
async def member_trackers(
    sessions: SessionsDep, today: TodayDep, member_id: str, caller: CurrentEmployee
) -> Items:
    """Every Tracker of the member, each with its conversations newest first."""
    check_member_id(member_id)
    records = await trackers.member_trackers(sessions, member_id, today=today)
    return Items(items=[r.model_dump(mode="json") for r in records])


@router.get("/{member_id}/messages", response_model=Items, summary="The member's secure messages")
async def member_messages(sessions: SessionsDep, member_id: str, caller: CurrentEmployee) -> Items:
    """What the banking channel shows the member at next login."""
    check_member_id(member_id)
    records = await contacts.member_messages(sessions, member_id)
    return Items(items=[r.model_dump(mode="json") for r in records])
