"""``/members/{member_id}``: Trackers and secure messages of one member."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query

from contracts.platform.permissions import Action, Relation
from contracts.vocabulary import MEMBER_ID_PATTERN
from workers.contacts import contact_store as contacts
from workers.platform.audit import AuditAction
from workers.platform.errors import StoreError
from workers.platform.web.access import authorize
from workers.platform.web.auth import CurrentEmployee
from workers.platform.web.dependencies import DeskDep, OpsDep, SessionsDep, TodayDep
from workers.platform.web.errors import STATUS_BY_REFUSAL
from workers.platform.web.schemas import Items
from workers.platform.web.trail import AccessTrail, audited
from workers.trackers import tracker_store as trackers
from workers.trackers.desk_notes import write_desk_note
from workers.trackers.schemas import ConversationBody, ConversationWritten, TrackerItems
from workers.trackers.tracker_pages import BadCursorError, TrackerFilter, tracker_page

router = APIRouter(prefix="/members", tags=["members"])

MEMBER_ID = re.compile(MEMBER_ID_PATTERN)
CODE2 = r"^[A-Z0-9]{2}$"
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def check_member_id(member_id: str) -> None:
    """422 unless the id is 1-12 digits (the membership's base account number)."""
    if not MEMBER_ID.match(member_id):
        raise HTTPException(422, detail="member_id must be 1-12 digits")


EARLIEST, LATEST = date(1900, 1, 1), date(9998, 12, 31)
"""The dates a Tracker filter accepts (the time-zone arithmetic stays inside the calendar)."""


@router.get("/{member_id}/trackers", response_model=TrackerItems, summary="The member's Trackers")
async def member_trackers(
    sessions: SessionsDep,
    ops: OpsDep,
    today: TodayDep,
    member_id: str,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.MEMBER_TRACKERS_READ)],
    tracker_type: Annotated[str | None, Query(pattern=CODE2)] = None,
    account_suffix: Annotated[str | None, Query(pattern=r"^[0-9]{3}$")] = None,
    memo_type: Annotated[str | None, Query(pattern=CODE2)] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TrackerItems:
    """Every Tracker of the member, each with its conversations newest first.

    With a filter beyond ``tracker_type``, or ``limit``/``cursor``, only matching conversations
    are listed (a Tracker with none is left out), ``limit`` (default and at most 500) at a time
    across all Trackers, and ``next_cursor`` names the next page.
    """
    check_member_id(member_id)
    trail.about(member_id=member_id)
    # After the trail knows the member: a refused read of a member's data is recorded too.
    authorize(caller, Action.READ_MEMBER_TRACKERS, (Relation.ANY,))
    for name, day in (("from", date_from), ("to", date_to)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise HTTPException(422, detail=f"{name} must be between {EARLIEST} and {LATEST}")
    if date_from is not None and date_to is not None and date_to < date_from:
        raise HTTPException(422, detail="'to' must not be before 'from'")
    paged = (account_suffix, memo_type, date_from, date_to, limit, cursor)
    if all(value is None for value in paged):
        # The answer as it always was: every Tracker, every conversation.
        records = await trackers.member_trackers(
            sessions, member_id, today=today, tracker_type=tracker_type
        )
        return TrackerItems(items=[r.model_dump(mode="json") for r in records])
    where = TrackerFilter(
        tracker_type, account_suffix, memo_type, date_from, date_to, time_zone=ops.time_zone
    )
    try:
        records, next_cursor = await tracker_page(
            sessions, member_id, today=today, where=where, limit=limit or 500, cursor=cursor
        )
    except BadCursorError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return TrackerItems(items=[r.model_dump(mode="json") for r in records], next_cursor=next_cursor)


@router.post(
    "/{member_id}/trackers/conversations",
    response_model=ConversationWritten,
    summary="Write a note in the member's Tracker (and open a follow-up)",
    responses={409: {"description": "Idempotency-Key already used for other content"}},
)
async def write_conversation(
    desk: DeskDep,
    today: TodayDep,
    member_id: str,
    body: ConversationBody,
    caller: CurrentEmployee,
    trail: Annotated[AccessTrail, audited(AuditAction.MEMBER_TRACKER_NOTE)],
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key")],
) -> ConversationWritten:
    """Append a conversation; a retry with the same key and body writes nothing new."""
    check_member_id(member_id)
    trail.about(member_id=member_id)
    authorize(caller, Action.WRITE_MEMBER_NOTE, (Relation.ANY,))
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise HTTPException(422, detail="Idempotency-Key must be 1-64 of A-Z a-z 0-9 . _ -")
    try:
        return await write_desk_note(
            desk.sessions,
            desk.ops,
            desk.temporal,
            temporal_settings=desk.settings.temporal,
            caller=caller.employee_id,
            member_id=member_id,
            idempotency_key=idempotency_key,
            body=body,
            today=today,
        )
    except StoreError as exc:
        # Store refusals name the broken rule in words meant for the caller.
        raise HTTPException(STATUS_BY_REFUSAL[exc.kind], detail=str(exc)) from None


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
