"""Copying a Tracker's conversations to another membership (append-only inserts).

Only where the Tracker type allows copying (``allow_copy``). The copies land in the target
member's Tracker of the same type: the one Tracker of a one-per-member type, otherwise a new
Tracker on the base (``000``) account, named like the source. Each copy keeps its source's time,
author, memo type, Need Group, Task and text, and a ``conversation_copies`` row links it to the
source, which is only read.

Idempotent by the copy's id (derived from the caller's ``Idempotency-Key``): every copy's
idempotency key is ``copy/{copy_id}/{source conversation id}``, and a new Tracker's id derives
from the copy id, so a retried activity finds what the first attempt wrote and writes nothing
twice.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.platform.operations import OpsConfig
from contracts.trackers.relocations import CopiedConversation, CopyInput, CopyPlan, CopyResult
from workers.platform.database import Sessions, advisory_lock, derived_id
from workers.platform.errors import ConflictError, InvalidInputError, NotFoundError
from workers.trackers.relocation_tables import CopyRow
from workers.trackers.tables import ConversationRow, TrackerRow
from workers.trackers.tracker_store import insert_conversation, lock_name

BASE_ACCOUNT = "000"


def _not_found(tracker_id: str) -> NotFoundError:
    return NotFoundError(f"Tracker {tracker_id} is not a Tracker of this membership")


async def _source(session: AsyncSession, request: CopyInput) -> TrackerRow:
    tracker = await session.get(TrackerRow, request.tracker_id)
    if tracker is None or tracker.member_id != request.member_id:
        raise _not_found(request.tracker_id)
    return tracker


def check_copy_allowed(ops: OpsConfig, tracker_type: str) -> None:
    """Refuse (409) a copy of a Tracker whose type does not allow copying.

    Raises:
        ConflictError: The type is not configured, or its ``allow_copy`` flag is off.
    """
    configured = ops.tracker_type(tracker_type)
    if configured is None or not configured.allow_copy:
        raise ConflictError(
            f"Tracker type {tracker_type} does not allow copying Trackers to another membership "
            "(allow_copy is off in the operations file)"
        )


async def plan_copy(sessions: Sessions, ops: OpsConfig, request: CopyInput) -> CopyPlan:
    """Check a copy and list the conversations it writes, oldest first.

    Args:
        sessions: Session factory.
        ops: The Tracker types and their flags.
        request: The copy asked for.

    Returns:
        The source conversations' ids.

    Raises:
        NotFoundError: The Tracker is not the member's, or a chosen conversation is not in it.
        ConflictError: The type does not allow copying, or the Tracker holds no conversation.
        InvalidInputError: The target is the membership the Tracker belongs to.
    """
    if request.to_member_id == request.member_id:
        raise InvalidInputError("a copy goes to another membership: to_member_id is this one")
    async with sessions() as session:
        source = await _source(session, request)
        check_copy_allowed(ops, source.tracker_type)
        found = list(
            await session.scalars(
                select(ConversationRow.id)
                .where(ConversationRow.tracker_id == source.id)
                .order_by(ConversationRow.created_at, ConversationRow.id)
            )
        )
    if request.conversation_ids is not None:
        chosen = set(request.conversation_ids)
        missing = sorted(chosen.difference(found))
        if missing:
            raise NotFoundError(
                f"conversation {missing[0]} is not in Tracker {source.id}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            )
        found = [c for c in found if c in chosen]
    if not found:
        raise ConflictError(f"Tracker {source.id} holds no conversation to copy")
    return CopyPlan(source_conversation_ids=found)


async def _target(
    session: AsyncSession, ops: OpsConfig, request: CopyInput, source: TrackerRow
) -> TrackerRow:
    """The target member's Tracker the copies go to, created if needed (lock held)."""
    single = ops.is_single_per_member(source.tracker_type)
    if single:
        existing = await session.scalar(
            select(TrackerRow)
            .where(
                TrackerRow.member_id == request.to_member_id,
                TrackerRow.tracker_type == source.tracker_type,
            )
            .order_by(TrackerRow.created_at)
            .limit(1)
        )
        if existing is not None:
            return existing
    # Derived from the copy: a retry finds the Tracker its first attempt created.
    tracker_id = derived_id("copied-tracker", request.copy_id)
    tracker = await session.get(TrackerRow, tracker_id)
    if tracker is None:
        tracker = TrackerRow(
            id=tracker_id,
            member_id=request.to_member_id,
            account_suffix=BASE_ACCOUNT,
            tracker_type=source.tracker_type,
            single_type=source.tracker_type if single else None,
            description=source.description,
        )
        session.add(tracker)
        await session.flush()
    return tracker


async def _written(
    session: AsyncSession, request: CopyInput, plan: CopyPlan, keys: list[str]
) -> CopyResult | None:
    """The answer of a copy whose every conversation is written already, else None."""
    rows = (
        await session.execute(
            select(
                ConversationRow.idempotency_key, ConversationRow.id, ConversationRow.tracker_id
            ).where(ConversationRow.idempotency_key.in_(keys))
        )
    ).all()
    if len(rows) != len(keys):
        return None
    by_key = {key: (conversation_id, tracker_id) for key, conversation_id, tracker_id in rows}
    copies = [
        CopiedConversation(source_conversation_id=source, conversation_id=by_key[key][0])
        for source, key in zip(plan.source_conversation_ids, keys, strict=True)
    ]
    return CopyResult(copy_id=request.copy_id, tracker_id=rows[0][2], copies=copies)


def copy_key(copy_id: str, source_conversation_id: str) -> str:
    """The idempotency key of one copy."""
    return f"copy/{copy_id}/{source_conversation_id}"


async def copy_conversations(
    sessions: Sessions, ops: OpsConfig, request: CopyInput, plan: CopyPlan
) -> CopyResult:
    """Write the planned copies on the target membership, once, in one transaction.

    Args:
        sessions: Session factory.
        ops: The Tracker types (one per member or not, ``allow_copy``).
        request: The copy asked for.
        plan: The source conversations (:func:`plan_copy`).

    Returns:
        The target Tracker and each copy with its source, oldest first.

    Raises:
        NotFoundError: The Tracker or a planned conversation is gone (purged meanwhile).
        ConflictError: The type no longer allows copying.
    """
    keys = [copy_key(request.copy_id, c) for c in plan.source_conversation_ids]
    async with sessions.begin() as session:
        done = await _written(session, request, plan, keys)
        if done is not None:
            # A retry of a copy that was written: its answer, whatever the source is now.
            return done
        source = await _source(session, request)
        check_copy_allowed(ops, source.tracker_type)
        sources = list(
            await session.scalars(
                select(ConversationRow)
                .where(
                    ConversationRow.tracker_id == source.id,
                    ConversationRow.id.in_(plan.source_conversation_ids),
                )
                .order_by(ConversationRow.created_at, ConversationRow.id)
            )
        )
        if len(sources) != len(plan.source_conversation_ids):
            raise NotFoundError(f"a conversation of Tracker {source.id} is gone; copy again")
        await advisory_lock(session, lock_name(request.to_member_id, source.tracker_type))
        target = await _target(session, ops, request, source)
        # Copies an attempt running at the same time (a timed-out one, still finishing) wrote
        # before we got the lock: they are not written twice.
        rows = await session.execute(
            select(ConversationRow.idempotency_key, ConversationRow.id).where(
                ConversationRow.idempotency_key.in_(keys)
            )
        )
        written = {key: conversation_id for key, conversation_id in rows.all()}
        copies: list[CopiedConversation] = []
        for conversation in sources:
            key = copy_key(request.copy_id, conversation.id)
            copy_id = written.get(key)
            if copy_id is None:
                # The source's own time: the copies sort among the target's notes by when each
                # note was first written, as they did in the source.
                ref = await insert_conversation(
                    session,
                    target.id,
                    memo_type=conversation.memo_type,
                    employee_id=conversation.employee_id,
                    text=conversation.text,
                    idempotency_key=key,
                    need_group=conversation.need_group,
                    task=conversation.task,
                    thread_id=None,
                    at=conversation.created_at,
                )
                copy_id = ref.conversation_id
                session.add(
                    CopyRow(
                        conversation_id=copy_id,
                        source_conversation_id=conversation.id,
                        copy_id=request.copy_id,
                        copied_by=request.employee_id,
                    )
                )
            copies.append(
                CopiedConversation(source_conversation_id=conversation.id, conversation_id=copy_id)
            )
    return CopyResult(copy_id=request.copy_id, tracker_id=target.id, copies=copies)
