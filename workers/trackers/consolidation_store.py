"""Consolidating two Trackers of one member: every conversation of one moves into the other.

Only Trackers of one membership, of one type, both on the base (``000``) account, and only where
the type allows moving conversations (``allow_move``). The older Tracker survives and keeps its
name; the other is emptied and removed. A moved conversation keeps its id, time, author and
text (its follow-ups, which name it by id, keep working): only its ``tracker_id`` changes, and
a ``conversation_relocations`` row records the move.

The checks are made here, readably; the move itself is the database function
``memberflow_relocate_conversations`` (migration 0009), the one path allowed to change a
conversation's ``tracker_id``, which checks the Trackers again. Idempotent by the consolidation's
id (derived from the caller's ``Idempotency-Key``): a retry finds the ``tracker_consolidations``
row the first attempt wrote and answers with it.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.platform.operations import OpsConfig
from contracts.trackers.relocations import ConsolidationInput, ConsolidationResult
from workers.platform.database import Sessions, advisory_lock
from workers.platform.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
)
from workers.trackers.relocation_tables import ConsolidationRow
from workers.trackers.tables import TrackerRow
from workers.trackers.tracker_store import lock_name

BASE_ACCOUNT = "000"

REFUSED = "MFR01"
"""SQLSTATE of ``memberflow_relocate_conversations`` refusing the Trackers it was given."""

RELOCATE = text(
    "SELECT memberflow_relocate_conversations(:consolidation_id, :from_id, :to_id, :employee_id)"
)


def _answer(row: ConsolidationRow) -> ConsolidationResult:
    return ConsolidationResult(
        consolidation_id=row.id,
        tracker_id=row.to_tracker_id,
        removed_tracker_id=row.from_tracker_id,
        moved=row.moved,
    )


async def _done(session: AsyncSession, request: ConsolidationInput) -> ConsolidationResult | None:
    """The answer of this consolidation if it happened already, else None."""
    row = await session.get(ConsolidationRow, request.consolidation_id, populate_existing=True)
    if row is None:
        return None
    if {row.from_tracker_id, row.to_tracker_id} != set(request.tracker_ids):
        raise IdempotencyKeyReusedError(
            f"consolidation {request.consolidation_id} joined other Trackers"
        )
    return _answer(row)


def check_move_allowed(ops: OpsConfig, tracker_type: str) -> None:
    """Refuse (409) a consolidation of Trackers whose type does not allow moving conversations.

    Raises:
        ConflictError: The type is not configured, or its ``allow_move`` flag is off.
    """
    configured = ops.tracker_type(tracker_type)
    if configured is None or not configured.allow_move:
        raise ConflictError(
            f"Tracker type {tracker_type} does not allow moving conversations between Trackers "
            "(allow_move is off in the operations file)"
        )


async def _trackers(
    session: AsyncSession, request: ConsolidationInput
) -> tuple[TrackerRow, TrackerRow]:
    """Both Trackers, checked against each other; the survivor (older) first."""
    first, second = request.tracker_ids
    if first == second:
        raise InvalidInputError("consolidate needs two different Trackers")
    found = {
        t.id: t
        for t in await session.scalars(
            select(TrackerRow)
            .where(TrackerRow.id.in_(request.tracker_ids))
            .execution_options(populate_existing=True)
        )
    }
    for tracker_id in request.tracker_ids:
        if tracker_id not in found:
            raise NotFoundError(f"Tracker {tracker_id} not found")
        if found[tracker_id].member_id != request.member_id:
            raise ConflictError(
                f"Tracker {tracker_id} belongs to another membership: only Trackers of one "
                "membership are consolidated"
            )
    one, two = found[first], found[second]
    if one.tracker_type != two.tracker_type:
        raise ConflictError(
            f"Trackers of types {one.tracker_type} and {two.tracker_type} cannot be "
            "consolidated: both must be of one type"
        )
    for tracker in (one, two):
        if tracker.account_suffix != BASE_ACCOUNT:
            raise ConflictError(
                f"Tracker {tracker.id} is on account {tracker.account_suffix}: only Trackers on "
                f"the base ({BASE_ACCOUNT}) account are consolidated"
            )
    # The first Tracker of the type survives and keeps its name.
    survivor, emptied = sorted((one, two), key=lambda t: (t.created_at, t.id))
    return survivor, emptied


async def check_consolidation(
    sessions: Sessions, ops: OpsConfig, request: ConsolidationInput
) -> None:
    """Refuse, without writing, a consolidation that cannot be made (the desk's early answer).

    :func:`consolidate` checks the same again under the lock; a consolidation already made
    passes (its emptied Tracker is gone, its answer stands).

    Raises:
        The refusals of :func:`consolidate`.
    """
    async with sessions() as session:
        if await _done(session, request) is not None:
            return
        survivor, _ = await _trackers(session, request)
    check_move_allowed(ops, survivor.tracker_type)


async def consolidate(
    sessions: Sessions, ops: OpsConfig, request: ConsolidationInput
) -> ConsolidationResult:
    """Move every conversation of the newer Tracker into the older one; remove the newer.

    Args:
        sessions: Session factory.
        ops: The Tracker types and their ``allow_move`` flags.
        request: The member, the two Trackers, who asks, and the consolidation's id.

    Returns:
        The surviving and the removed Tracker, and how many conversations moved.

    Raises:
        NotFoundError: A Tracker does not exist (or was removed meanwhile).
        ConflictError: The Trackers are of two memberships or types, not on the base account,
            or their type does not allow moving conversations.
        InvalidInputError: The same Tracker twice.
        IdempotencyKeyReusedError: The consolidation's id was used for other Trackers.
    """
    async with sessions.begin() as session:
        done = await _done(session, request)
        if done is not None:
            return done
        survivor, _ = await _trackers(session, request)
        check_move_allowed(ops, survivor.tracker_type)
        # Every write to this member's Trackers of the type waits: no note lands in the Tracker
        # being emptied, and no concurrent consolidation removes one of the two under us.
        await advisory_lock(session, lock_name(request.member_id, survivor.tracker_type))
        done = await _done(session, request)
        if done is not None:
            return done
        survivor, emptied = await _trackers(session, request)
        try:
            await session.execute(
                RELOCATE,
                {
                    "consolidation_id": request.consolidation_id,
                    "from_id": emptied.id,
                    "to_id": survivor.id,
                    "employee_id": request.employee_id,
                },
            )
        except DBAPIError as exc:
            # The function's own checks (the same as above): never retried, never quoted.
            if getattr(exc.orig, "sqlstate", None) != REFUSED:
                raise
            raise ConflictError(
                f"Trackers {emptied.id} and {survivor.id} cannot be consolidated "
                f"(SQLSTATE {REFUSED})"
            ) from None
        row = await session.get(ConsolidationRow, request.consolidation_id, populate_existing=True)
        if row is None:  # the function writes it in this transaction
            raise RuntimeError("memberflow_relocate_conversations recorded no consolidation")
        return _answer(row)
