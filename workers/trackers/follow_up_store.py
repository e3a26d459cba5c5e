"""Follow-ups: open, complete, reassign (with history), list and read with their thread.

A follow-up hangs off one conversation. Follow-ups opened while working another one share its
``thread_id``, and so do notes written on the way (``append_to_tracker(thread_id=...)``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.vocabulary import FollowUpFilter, FollowUpState
from workers.platform.database import Sessions, derived_id
from workers.platform.employees import require_employee
from workers.platform.errors import ConflictError, IdempotencyKeyReusedError, NotFoundError
from workers.trackers.records import FollowUpEventRecord, FollowUpRecord, FollowUpThread
from workers.trackers.rows import conversation_record, follow_up_record
from workers.trackers.tables import ConversationRow, FollowUpEventRow, FollowUpRow, TrackerRow


async def _locked(session: AsyncSession, follow_up_id: str) -> FollowUpRow:
    row = await session.get(FollowUpRow, follow_up_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"follow-up {follow_up_id} not found")
    return row


async def open_follow_up(
    sessions: Sessions,
    *,
    idempotency_key: str,
    conversation_id: str,
    assignee_employee_id: str,
    assigned_by: str,
    due_on: date,
    follow_up_id: str | None = None,
    parent_follow_up_id: str | None = None,
    at: datetime | None = None,
    today: date,
) -> FollowUpRecord:
    """Open a follow-up on a conversation for an employee.

    Args:
        sessions: Session factory.
        idempotency_key: Deterministic key; the same key again returns the first follow-up.
        conversation_id: The conversation it belongs to (its member and Tracker are taken
            from there).
        assignee_employee_id: Who must follow up; must be a known employee.
        assigned_by: Employee id or partner code.
        due_on: Follow-up date.
        follow_up_id: The id to use (default: derived from the key).
        parent_follow_up_id: The follow-up this one continues; it joins that thread.
        at: Creation time (default: the database's now()).
        today: The credit union's local date: what overdue is judged against.

    Returns:
        The follow-up.

    Raises:
        NotFoundError: Unknown conversation or parent follow-up.
        UnknownEmployeeError: Unknown assignee.
        IdempotencyKeyReusedError: The key or id was already used for another follow-up.
    """
    new_id = follow_up_id or derived_id("follow-up", idempotency_key)
    async with sessions.begin() as session:
        existing = await session.scalar(
            select(FollowUpRow).where(FollowUpRow.idempotency_key == idempotency_key)
        )
        if existing is None:
            conversation = await session.get(ConversationRow, conversation_id)
            if conversation is None:
                raise NotFoundError(f"conversation {conversation_id} not found")
            await require_employee(session, assignee_employee_id)
            thread_id = new_id
            if parent_follow_up_id is not None:
                parent = await session.get(FollowUpRow, parent_follow_up_id)
                if parent is None:
                    raise NotFoundError(f"follow-up {parent_follow_up_id} not found")
                thread_id = parent.thread_id
            values = {
                "id": new_id,
                "conversation_id": conversation_id,
                "member_id": await _member_of(session, conversation),
                "tracker_id": conversation.tracker_id,
                "assignee_employee_id": assignee_employee_id,
                "assigned_by": assigned_by,
                "due_on": due_on,
                "status": FollowUpState.OUTSTANDING.value,
                "idempotency_key": idempotency_key,
                "parent_follow_up_id": parent_follow_up_id,
                "thread_id": thread_id,
            }
            if at is not None:
                values["created_at"] = at
            # A concurrent retry may have won the race: then read what it wrote.
            await session.execute(insert(FollowUpRow).values(**values).on_conflict_do_nothing())
            existing = await session.scalar(
                select(FollowUpRow).where(FollowUpRow.idempotency_key == idempotency_key)
            )
        if existing is None:
            raise IdempotencyKeyReusedError(f"follow-up id {new_id} is already used")
        if existing.id != new_id or existing.conversation_id != conversation_id:
            raise IdempotencyKeyReusedError(
                f"idempotency key {idempotency_key!r} was used for another follow-up"
            )
        return follow_up_record(existing, today)


async def _member_of(session: AsyncSession, conversation: ConversationRow) -> str:
    member = await session.scalar(
        select(TrackerRow.member_id).where(TrackerRow.id == conversation.tracker_id)
    )
    return str(member)


async def complete_follow_up(
    sessions: Sessions,
    follow_up_id: str,
    *,
    by_employee_id: str,
    idempotency_key: str,
    at: datetime | None = None,
    today: date,
    outcome: str | None = None,
) -> FollowUpRecord:
    """Mark a follow-up completed.

    Who may complete it (the assignee or a supervisor) is the caller's rule to check.

    Args:
        sessions: Session factory.
        follow_up_id: The follow-up.
        by_employee_id: Who completed it.
        idempotency_key: Deterministic key; a retry with the same key returns the result.
        at: Completion time (default: the database's now()).
        today: The credit union's local date: what overdue is judged against.
        outcome: A sales lead's outcome (``SalesOutcome``), stored with the completion.

    Returns:
        The completed follow-up.

    Raises:
        NotFoundError: No such follow-up.
        ConflictError: Already completed by another action.
    """
    async with sessions.begin() as session:
        row = await _locked(session, follow_up_id)
        if row.status == FollowUpState.COMPLETED:
            if row.completion_key != idempotency_key:
                raise ConflictError(f"follow-up {follow_up_id} is already completed")
        else:
            row.status = FollowUpState.COMPLETED.value
            row.completed_by = by_employee_id
            row.completion_key = idempotency_key
            row.completed_at = at if at is not None else await session.scalar(select(func.now()))
            row.outcome = outcome
        return follow_up_record(row, today)


async def reassign_follow_up(
    sessions: Sessions,
    follow_up_id: str,
    *,
    to_employee_id: str,
    by_employee_id: str,
    idempotency_key: str,
    note: str | None = None,
    at: datetime | None = None,
    today: date,
) -> FollowUpRecord:
    """Hand an outstanding follow-up to another employee and record who, when, from and to.

    Args:
        sessions: Session factory.
        follow_up_id: The follow-up.
        to_employee_id: The new assignee; must be a known employee.
        by_employee_id: Who reassigned it.
        idempotency_key: Deterministic key; a retry with the same key changes nothing.
        note: Optional reason.
        at: Time of the reassignment (default: the database's now()).
        today: The credit union's local date: what overdue is judged against.

    Returns:
        The follow-up with its new assignee.

    Raises:
        NotFoundError: No such follow-up.
        UnknownEmployeeError: Unknown new assignee.
        ConflictError: Completed already, or already assigned to that employee.
    """
    async with sessions.begin() as session:
        row = await _locked(session, follow_up_id)
        done = await session.scalar(
            select(FollowUpEventRow).where(FollowUpEventRow.idempotency_key == idempotency_key)
        )
        if done is not None:
            if done.follow_up_id != follow_up_id:
                raise IdempotencyKeyReusedError(
                    f"idempotency key {idempotency_key!r} was used for another follow-up"
                )
            return follow_up_record(row, today)
        if row.status == FollowUpState.COMPLETED:
            raise ConflictError(f"follow-up {follow_up_id} is already completed")
        await require_employee(session, to_employee_id)
        if row.assignee_employee_id == to_employee_id:
            raise ConflictError(f"follow-up {follow_up_id} is already assigned to {to_employee_id}")
        event = FollowUpEventRow(
            follow_up_id=follow_up_id,
            kind="reassigned",
            from_employee_id=row.assignee_employee_id,
            to_employee_id=to_employee_id,
            by_employee_id=by_employee_id,
            note=note,
            idempotency_key=idempotency_key,
        )
        if at is not None:
            event.at = at
        session.add(event)
        row.assignee_employee_id = to_employee_id
        return follow_up_record(row, today)


async def get_follow_up(
    sessions: Sessions, follow_up_id: str, *, today: date
) -> FollowUpRecord | None:
    """One follow-up as of ``today`` (the credit union's local date), or None."""
    async with sessions() as session:
        row = await session.get(FollowUpRow, follow_up_id)
        return follow_up_record(row, today) if row is not None else None


async def list_follow_ups(
    sessions: Sessions,
    *,
    assignee: str | None = None,
    status: FollowUpFilter = FollowUpFilter.OUTSTANDING,
    member_id: str | None = None,
    today: date,
) -> list[FollowUpRecord]:
    """Follow-ups for the Tool #5 queue, earliest due first.

    Args:
        sessions: Session factory.
        assignee: Only this employee's follow-ups (None: everyone's, the supervisory view).
        status: ``outstanding`` (includes overdue), ``overdue`` (outstanding and due before
            ``today``), ``completed`` or ``all``.
        member_id: Only this member's follow-ups.
        today: The credit union's local date: what overdue is judged against.

    Returns:
        The follow-ups, each with its derived status.
    """
    query = select(FollowUpRow)
    if assignee is not None:
        query = query.where(FollowUpRow.assignee_employee_id == assignee)
    if member_id is not None:
        query = query.where(FollowUpRow.member_id == member_id)
    outstanding = FollowUpRow.status == FollowUpState.OUTSTANDING.value
    if status == FollowUpFilter.OUTSTANDING:
        query = query.where(outstanding)
    elif status == FollowUpFilter.OVERDUE:
        query = query.where(outstanding, FollowUpRow.due_on < today)
    elif status == FollowUpFilter.COMPLETED:
        query = query.where(FollowUpRow.status == FollowUpState.COMPLETED.value)
    query = query.order_by(FollowUpRow.due_on, FollowUpRow.created_at, FollowUpRow.id)
    async with sessions() as session:
        return [follow_up_record(row, today) for row in await session.scalars(query)]


async def get_follow_up_with_thread(
    sessions: Sessions, follow_up_id: str, *, today: date
) -> FollowUpThread | None:
    """A follow-up with its whole thread: notes and follow-ups oldest first, and its history.

    Args:
        sessions: Session factory.
        follow_up_id: The follow-up.
        today: The credit union's local date: what overdue is judged against.

    Returns:
        The thread, or None for an unknown id.
    """
    async with sessions() as session:
        row = await session.get(FollowUpRow, follow_up_id)
        if row is None:
            return None
        thread = list(
            await session.scalars(
                select(FollowUpRow)
                .where(FollowUpRow.thread_id == row.thread_id)
                .order_by(FollowUpRow.created_at, FollowUpRow.id)
            )
        )
        conversations = await session.scalars(
            select(ConversationRow)
            .where(
                or_(
                    ConversationRow.thread_id == row.thread_id,
                    ConversationRow.id.in_([f.conversation_id for f in thread]),
                )
            )
            .order_by(ConversationRow.created_at, ConversationRow.seq)
        )
        events = await session.scalars(
            select(FollowUpEventRow)
            .where(FollowUpEventRow.follow_up_id == follow_up_id)
            .order_by(FollowUpEventRow.at, FollowUpEventRow.id)
        )
        records = [follow_up_record(f, today) for f in thread]
        by_conversation: dict[str, list[FollowUpRecord]] = {}
        for record in records:
            by_conversation.setdefault(record.conversation_id, []).append(record)
        return FollowUpThread(
            follow_up=follow_up_record(row, today),
            conversations=[
                conversation_record(c, by_conversation.get(c.id, [])) for c in conversations
            ],
            follow_ups=records,
            history=[FollowUpEventRecord.model_validate(e, from_attributes=True) for e in events],
        )
