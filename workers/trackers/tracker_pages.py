"""A member's Trackers filtered and paged by conversation (``GET /members/{id}/trackers``).

Members with thousands of notes are read a page of conversations at a time, newest first, across
all their matching Trackers. The cursor is the last conversation's ``(created_at, id)``: keyset
paging, so a note written meanwhile never shifts or repeats a page.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_

from workers.platform.database import Sessions
from workers.trackers.records import ConversationRecord, FollowUpRecord, TrackerRecord
from workers.trackers.rows import conversation_record, follow_up_record, tracker_record
from workers.trackers.tables import ConversationRow, FollowUpRow, TrackerRow


class BadCursorError(ValueError):
    """The cursor was not one this API handed out."""


@dataclass(frozen=True)
class TrackerFilter:
    """What to read: every field None means no filter on it."""

    tracker_type: str | None = None
    account_suffix: str | None = None
    memo_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    """Inclusive, local dates in ``time_zone``."""
    time_zone: str = "UTC"


def encode_cursor(created_at: datetime, conversation_id: str) -> str:
    """The opaque cursor after one conversation."""
    raw = f"{created_at.isoformat()}|{conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The ``(created_at, id)`` of a cursor.

    Raises:
        BadCursorError: Not a cursor this API made.
    """
    try:
        at, _, conversation_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        # Conversation ids are UUIDs; the instant must be aware and sit inside the calendar in
        # UTC, so nothing the database cannot compare ever reaches it.
        uuid.UUID(conversation_id)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("naive")
        when = when.astimezone(UTC)
    except (ValueError, binascii.Error, UnicodeError, OverflowError):
        raise BadCursorError("cursor is not one this API handed out") from None
    return when, conversation_id


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


async def tracker_page(
    sessions: Sessions,
    member_id: str,
    *,
    today: date,
    where: TrackerFilter,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[TrackerRecord], str | None]:
    """One page of the member's matching conversations, grouped into their Trackers.

    Args:
        sessions: Session factory.
        member_id: The membership.
        today: The credit union's local date: what overdue is judged against.
        where: Tracker type, account, memo type and date range to keep.
        limit: Conversations per page.
        cursor: Where the previous page ended (None: the newest).

    Returns:
        The Trackers (newest first) holding this page's conversations (newest first), each
        with its follow-ups and their status; the next page's cursor, None on the last page.

    Raises:
        BadCursorError: A cursor this API did not hand out.
    """
    query = (
        select(ConversationRow)
        .join(TrackerRow, TrackerRow.id == ConversationRow.tracker_id)
        .where(TrackerRow.member_id == member_id)
    )
    if where.tracker_type is not None:
        query = query.where(TrackerRow.tracker_type == where.tracker_type)
    if where.account_suffix is not None:
        query = query.where(TrackerRow.account_suffix == where.account_suffix)
    if where.memo_type is not None:
        query = query.where(ConversationRow.memo_type == where.memo_type)
    zone = ZoneInfo(where.time_zone)
    if where.date_from is not None:
        query = query.where(ConversationRow.created_at >= _start_of(where.date_from, zone))
    if where.date_to is not None:
        end = _start_of(where.date_to + timedelta(days=1), zone)
        query = query.where(ConversationRow.created_at < end)
    if cursor is not None:
        after = decode_cursor(cursor)
        query = query.where(tuple_(ConversationRow.created_at, ConversationRow.id) < after)
    query = query.order_by(ConversationRow.created_at.desc(), ConversationRow.id.desc())
    async with sessions() as session:
        rows = list(await session.scalars(query.limit(limit + 1)))
        page, more = rows[:limit], len(rows) > limit
        tracker_ids = {r.tracker_id for r in page}
        trackers = list(
            await session.scalars(
                select(TrackerRow)
                .where(TrackerRow.id.in_(tracker_ids))
                .order_by(TrackerRow.created_at.desc(), TrackerRow.id)
            )
        )
        follow_ups = await session.scalars(
            select(FollowUpRow)
            .where(FollowUpRow.conversation_id.in_([r.id for r in page]))
            .order_by(FollowUpRow.created_at, FollowUpRow.id)
        )
    by_conversation: dict[str, list[FollowUpRecord]] = defaultdict(list)
    for fu in follow_ups:
        by_conversation[fu.conversation_id].append(follow_up_record(fu, today))
    by_tracker: dict[str, list[ConversationRecord]] = defaultdict(list)
    for conv in page:
        by_tracker[conv.tracker_id].append(conversation_record(conv, by_conversation[conv.id]))
    records = [tracker_record(t, by_tracker[t.id]) for t in trackers]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return records, next_cursor
