"""Trackers and their append-only conversations.

Concurrency: every write to a member's Trackers of one type runs under a transaction-scoped
advisory lock named after (member, type). Two concurrent appends for a single-per-member type
therefore see each other's Tracker instead of both creating one, and the conversations written
in one Tracker are numbered 1, 2, 3... The unique constraints on
``trackers(member_id, single_type)`` and ``conversations(idempotency_key)`` back this up in the
database. Every Tracker write takes that lock (``lock_name``): these functions and the writers
beside them (``consolidation_store``; ``copy_store``, which inserts with ``insert_conversation``;
``mass_writes``). A consolidated conversation keeps its number, so Trackers list conversations
by their time.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.platform.operations import OpsConfig
from workers.platform.database import Sessions, advisory_lock, derived_id
from workers.platform.errors import (
    CrossSalesRequiredError,
    IdempotencyKeyReusedError,
    InvalidTrackerWriteError,
    MemoTypeMismatchError,
    NotFoundError,
    UnknownTrackerTypeError,
)
from workers.trackers.conversation_writes import rows_under_key
from workers.trackers.records import (
    ConversationRecord,
    ConversationRef,
    FollowUpRecord,
    TrackerRecord,
)
from workers.trackers.rows import conversation_record, follow_up_record, tracker_record
from workers.trackers.tables import ConversationRow, FollowUpRow, TrackerRow

MAX_TEXT = 10_000


def check_conversation(
    ops: OpsConfig,
    tracker_type: str,
    memo_type: str,
    need_group: str | None,
    task: str | None,
    text: str,
) -> None:
    """Refuse a note that breaks the configured Tracker rules.

    Raises:
        UnknownTrackerTypeError: The Tracker type is not configured.
        MemoTypeMismatchError: The memo type is not configured under that Tracker type.
        CrossSalesRequiredError: The type needs a configured Need Group and Task of that group
            (docs/operations.md, "Cross-sales") and the note does not name them.
        InvalidTrackerWriteError: Empty or over-long text.
    """
    configured = ops.tracker_type(tracker_type)
    if configured is None:
        raise UnknownTrackerTypeError(f"Tracker type {tracker_type} is not configured")
    if ops.memo_type(tracker_type, memo_type) is None:
        raise MemoTypeMismatchError(
            f"memo type {memo_type} does not belong to Tracker type {tracker_type}"
        )
    if configured.cross_sales_required and (why := ops.cross_sales_refusal(need_group, task)):
        raise CrossSalesRequiredError(f"Tracker type {tracker_type}: {why}")
    if not text.strip() or len(text) > MAX_TEXT:
        raise InvalidTrackerWriteError(f"note text must be 1-{MAX_TEXT} characters")


def lock_name(member_id: str, tracker_type: str) -> str:
    """The advisory lock every write to a member's Trackers of one type holds."""
    return f"tracker:{member_id}:{tracker_type}"


async def _existing(
    session: AsyncSession, key: str, member_id: str, tracker_type: str, memo_type: str, text: str
) -> ConversationRef | None:
    """The conversation already written under ``key`` (a retry), or None."""
    found = await rows_under_key(session, key)
    if found is None:
        return None
    conversation, tracker = found
    same = (
        tracker.member_id == member_id
        and tracker.tracker_type == tracker_type
        and conversation.memo_type == memo_type
        and conversation.text == text
    )
    if not same:
        raise IdempotencyKeyReusedError(f"idempotency key {key!r} was used for another note")
    return ConversationRef(tracker.id, conversation.id)


async def _find_tracker(
    session: AsyncSession, member_id: str, account_suffix: str, tracker_type: str, single: bool
) -> TrackerRow | None:
    query = select(TrackerRow).where(
        TrackerRow.member_id == member_id, TrackerRow.tracker_type == tracker_type
    )
    if single:
        # The member's one Tracker of this type, whichever account it sits on.
        return await session.scalar(query.order_by(TrackerRow.created_at).limit(1))
    # Add to the existing Tracker of that type rather than start another (docs/operations.md).
    query = query.where(TrackerRow.account_suffix == account_suffix)
    return await session.scalar(query.order_by(TrackerRow.created_at.desc()).limit(1))


async def insert_conversation(
    session: AsyncSession,
    tracker_id: str,
    *,
    memo_type: str,
    employee_id: str,
    text: str,
    idempotency_key: str,
    need_group: str | None,
    task: str | None,
    thread_id: str | None,
    at: datetime | None,
) -> ConversationRef:
    """Insert one conversation (next ``seq``); the caller holds the Tracker's ``lock_name``."""
    # Safe without a row lock: the caller holds the (member, type) advisory lock.
    last = await session.scalar(
        select(func.coalesce(func.max(ConversationRow.seq), 0)).where(
            ConversationRow.tracker_id == tracker_id
        )
    )
    row = ConversationRow(
        id=derived_id("conversation", idempotency_key),
        tracker_id=tracker_id,
        seq=int(last or 0) + 1,
        employee_id=employee_id,
        memo_type=memo_type,
        need_group=need_group,
        task=task,
        text=text,
        thread_id=thread_id,
        idempotency_key=idempotency_key,
    )
    if at is not None:
        row.created_at = at
    session.add(row)
    await session.flush()
    return ConversationRef(tracker_id, row.id)


async def append_conversation(
    sessions: Sessions,
    ops: OpsConfig,
    *,
    member_id: str,
    account_suffix: str = "000",
    tracker_type: str,
    memo_type: str,
    employee_id: str,
    text: str,
    idempotency_key: str,
    need_group: str | None = None,
    task: str | None = None,
    description: str | None = None,
    thread_id: str | None = None,
    new_tracker: bool = False,
    at: datetime | None = None,
) -> ConversationRef:
    """Add a conversation to the member's Tracker of ``tracker_type``, creating it if needed.

    Single-per-member types (and the Private Contacts type) always use the member's one Tracker
    of that type; each call adds its own conversation. Other types append to the newest Tracker
    on that account unless ``new_tracker`` asks for a new one (one Tracker per incident).

    Args:
        sessions: Session factory.
        ops: Configuration holding the Tracker and memo type rules.
        member_id: The membership's base account number.
        account_suffix: The account the Tracker attaches to (``000`` = base share).
        tracker_type: Configured 2-character Tracker type.
        memo_type: Memo type configured under ``tracker_type``.
        employee_id: Who wrote the note (an employee, a partner code, ``96``, ``SYSTEM``).
        text: The note.
        idempotency_key: Deterministic key; the same key again returns the first write.
        need_group: Cross-sales Need Group (required for the Sales type).
        task: Cross-sales Task (required for the Sales type).
        description: Key word/phrase for a new Tracker (default: the type's description).
        thread_id: Follow-up thread the note belongs to, when written while working one.
        new_tracker: Start a new Tracker (ignored for single-per-member types).
        at: Creation time (default: the database's now()).

    Returns:
        ``(tracker_id, conversation_id)``.

    Raises:
        InvalidTrackerWriteError: A subclass naming the broken rule.
        IdempotencyKeyReusedError: The key was already used for a different note.
    """
    check_conversation(ops, tracker_type, memo_type, need_group, task, text)
    single = ops.is_single_per_member(tracker_type)
    async with sessions.begin() as session:
        await advisory_lock(session, lock_name(member_id, tracker_type))
        done = await _existing(session, idempotency_key, member_id, tracker_type, memo_type, text)
        if done is not None:
            return done
        tracker = None
        if single or not new_tracker:
            tracker = await _find_tracker(session, member_id, account_suffix, tracker_type, single)
        if tracker is None:
            configured = ops.tracker_type(tracker_type)
            tracker = TrackerRow(
                id=str(uuid.uuid4()),
                member_id=member_id,
                account_suffix=account_suffix,
                tracker_type=tracker_type,
                single_type=tracker_type if single else None,
                description=(description or (configured.description if configured else ""))[:120],
            )
            if at is not None:
                tracker.created_at = at
            session.add(tracker)
            await session.flush()
        return await insert_conversation(
            session,
            tracker.id,
            memo_type=memo_type,
            employee_id=employee_id,
            text=text,
            idempotency_key=idempotency_key,
            need_group=need_group,
            task=task,
            thread_id=thread_id,
            at=at,
        )


async def append_to_tracker(
    sessions: Sessions,
    ops: OpsConfig,
    *,
    tracker_id: str,
    memo_type: str,
    employee_id: str,
    text: str,
    idempotency_key: str,
    need_group: str | None = None,
    task: str | None = None,
    thread_id: str | None = None,
    at: datetime | None = None,
) -> ConversationRef:
    """Add a conversation to a given Tracker (e.g. a note written while working a follow-up).

    Args:
        sessions: Session factory.
        ops: Configuration holding the memo type rules.
        tracker_id: The Tracker.
        memo_type: Memo type configured under the Tracker's type.
        employee_id: Who wrote the note.
        text: The note.
        idempotency_key: Deterministic key; the same key again returns the first write.
        need_group: Cross-sales Need Group.
        task: Cross-sales Task.
        thread_id: Follow-up thread the note belongs to.
        at: Creation time (default: the database's now()).

    Returns:
        ``(tracker_id, conversation_id)``.

    Raises:
        NotFoundError: No such Tracker.
        InvalidTrackerWriteError: A subclass naming the broken rule.
        IdempotencyKeyReusedError: The key was already used for a different note.
    """
    async with sessions.begin() as session:
        tracker = await session.get(TrackerRow, tracker_id)
        if tracker is None:
            raise NotFoundError(f"Tracker {tracker_id} not found")
        check_conversation(ops, tracker.tracker_type, memo_type, need_group, task, text)
        await advisory_lock(session, lock_name(tracker.member_id, tracker.tracker_type))
        done = await _existing(
            session, idempotency_key, tracker.member_id, tracker.tracker_type, memo_type, text
        )
        if done is not None:
            return done
        return await insert_conversation(
            session,
            tracker.id,
            memo_type=memo_type,
            employee_id=employee_id,
            text=text,
            idempotency_key=idempotency_key,
            need_group=need_group,
            task=task,
            thread_id=thread_id,
            at=at,
        )


async def get_conversation(sessions: Sessions, conversation_id: str) -> ConversationRecord | None:
    """One conversation (without its follow-ups), or None."""
    async with sessions() as session:
        row = await session.get(ConversationRow, conversation_id)
        return conversation_record(row) if row is not None else None


async def member_trackers(
    sessions: Sessions,
    member_id: str,
    *,
    today: date,
    tracker_type: str | None = None,
) -> list[TrackerRecord]:
    """The member's Trackers, newest first, each with its conversations newest first.

    Args:
        sessions: Session factory.
        member_id: The membership.
        today: The credit union's local date: what overdue is judged against.
        tracker_type: Only Trackers of this type.

    Returns:
        The Trackers; each conversation lists the follow-ups opened on it.
    """
    async with sessions() as session:
        query = select(TrackerRow).where(TrackerRow.member_id == member_id)
        if tracker_type is not None:
            query = query.where(TrackerRow.tracker_type == tracker_type)
        trackers = list(
            await session.scalars(query.order_by(TrackerRow.created_at.desc(), TrackerRow.id))
        )
        ids = [t.id for t in trackers]
        conversations = list(
            await session.scalars(
                select(ConversationRow)
                .where(ConversationRow.tracker_id.in_(ids))
                # By the note's time, as the paged listing: a consolidated Tracker's
                # conversations interleave, and a moved one keeps its old seq.
                .order_by(
                    ConversationRow.tracker_id,
                    ConversationRow.created_at.desc(),
                    ConversationRow.id.desc(),
                )
            )
        )
        follow_ups = await session.scalars(
            select(FollowUpRow)
            .where(FollowUpRow.tracker_id.in_(ids))
            .order_by(FollowUpRow.created_at, FollowUpRow.id)
        )
    by_conversation: dict[str, list[FollowUpRecord]] = defaultdict(list)
    for fu in follow_ups:
        by_conversation[fu.conversation_id].append(follow_up_record(fu, today))
    by_tracker: dict[str, list[ConversationRecord]] = defaultdict(list)
    for conv in conversations:
        by_tracker[conv.tracker_id].append(conversation_record(conv, by_conversation[conv.id]))
    return [tracker_record(t, by_tracker[t.id]) for t in trackers]
