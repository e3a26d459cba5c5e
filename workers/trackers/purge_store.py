"""Tracker purges in two stages: *verify* records what would go, *confirm* deletes exactly that.

Verify lists the selected conversations (``purge_selection``) under a new purge id in
``tracker_purge_items`` and stores the counts; nothing is deleted. Confirm walks that list in
chunks, each in a transaction of its own, through the database function
``memberflow_purge_conversations`` (migration 0007), the only path by which a conversation can
be deleted. It is idempotent: a confirm retried after a crash skips what is gone, deletes the
rest, and reports the same counts. A confirm refuses (409) when the list no longer holds: a
conversation now belongs to an open follow-up's thread, or its type no longer allows purging.

The HTTP routes write their access-trail rows themselves; the CLI and the retention run pass
``audit=True`` and the row is written in the transaction that records the stage.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.platform.operations import OpsConfig
from contracts.trackers.purge import PurgeCount, PurgeCriteria, PurgeOrigin, PurgeReport
from workers.platform.audit import AuditAction, AuditEventRow, Outcome
from workers.platform.database import Sessions
from workers.platform.errors import ConflictError, NotFoundError
from workers.trackers import purge_selection as selection
from workers.trackers.purge_tables import TrackerPurgeItemRow, TrackerPurgeRow

TYPE_NOT_PURGEABLE = "MFP01"
"""SQLSTATE of the purge function refusing a Tracker type the purge may not touch."""
CHANGED_SINCE_VERIFY = "MFP02"
"""SQLSTATE of the purge function refusing a list that no longer holds."""

PURGE_CHUNK = """
SELECT conversations_deleted, trackers_deleted
FROM memberflow_purge_conversations(:purge_id, CAST(:ids AS varchar[]))
"""


ADD_DELETED = """
UPDATE tracker_purges SET report = report || jsonb_build_object(
    'conversations_deleted', (report->>'conversations_deleted')::int + :c,
    'trackers_deleted', (report->>'trackers_deleted')::int + :t)
WHERE id = :purge_id
"""


def _audit_row(action: AuditAction, by: str, purge_id: str) -> Any:
    # Written in the stage's own transaction: the trail holds a row exactly when the stage did.
    return insert(AuditEventRow).values(
        employee_id=by[:16],
        action=action.value,
        record_id=purge_id,
        status=200,
        outcome=Outcome.ALLOWED.value,
    )


def report_of(row: TrackerPurgeRow) -> PurgeReport:
    """The stored purge as the API and the CLI show it."""
    return PurgeReport.model_validate(
        {
            **row.report,
            "purge_id": row.id,
            "origin": row.origin,
            "state": row.state,
            "criteria": row.criteria,
            "purge_types": list(row.purge_types),
            "verified_by": row.verified_by,
            "verified_at": row.verified_at,
            "confirmed_by": row.confirmed_by,
            "confirmed_at": row.confirmed_at,
        }
    )


async def get_purge(sessions: Sessions, purge_id: str) -> PurgeReport:
    """A purge run's report.

    Raises:
        NotFoundError: No purge has this id.
    """
    async with sessions() as session:
        row = await session.get(TrackerPurgeRow, purge_id)
        if row is None:
            raise NotFoundError(f"purge {purge_id} not found")
        return report_of(row)


async def _counts(session: AsyncSession, purge_id: str, params: dict[str, Any]) -> dict[str, Any]:
    by_memo = (await session.execute(text(selection.ITEM_COUNTS), {"purge_id": purge_id})).all()
    kept = (await session.execute(text(selection.KEPT_COUNTS), params)).one()
    emptied = await session.scalar(text(selection.EMPTIED_TRACKERS), {"purge_id": purge_id})
    counts = [PurgeCount(tracker_type=t, memo_type=m, conversations=n) for t, m, n in by_memo]
    return {
        "counts": [c.model_dump() for c in counts],
        "conversations": sum(c.conversations for c in counts),
        "trackers_emptied": int(emptied or 0),
        "kept_open_follow_up": int(kept.kept_open),
        "kept_thread_outside": int(kept.kept) - int(kept.kept_open),
        "conversations_deleted": 0,
        "trackers_deleted": 0,
    }


async def verify_purge(
    sessions: Sessions,
    ops: OpsConfig,
    criteria: PurgeCriteria,
    *,
    by: str,
    origin: PurgeOrigin = "manual",
    purge_id: str | None = None,
    audit: bool = False,
) -> PurgeReport:
    """Record what a purge with these criteria would delete; delete nothing.

    Args:
        sessions: Session factory.
        ops: The operations configuration (which types allow purging).
        criteria: At least one criterion (``PurgeCriteria`` refuses none).
        by: Who asks (an employee id, or ``RETENTION_ACTOR``).
        origin: ``manual`` (desk or CLI) or ``retention`` (the monthly run).
        purge_id: The id to record it under (the retention run's replay-safe one); a purge
            already recorded under it is returned as it is. Default: a new UUID.
        audit: Write the access-trail row here (the CLI and the retention run do).

    Raises:
        InvalidInputError: Unknown Tracker or memo type (422).
        ConflictError: A type the criteria name does not allow purging (409).
    """
    types = selection.purge_types(ops, criteria)
    params = selection.selection_parameters(ops, criteria, types)
    purge_id = purge_id or str(uuid.uuid4())
    async with sessions() as session, session.begin():
        # One snapshot: the list and its counts describe the same moment.
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        existing = await session.get(TrackerPurgeRow, purge_id)
        if existing is not None:
            return report_of(existing)
        await session.execute(
            insert(TrackerPurgeRow).values(
                id=purge_id,
                origin=origin,
                criteria=criteria.model_dump(mode="json"),
                purge_types=types,
                report={},
                state="verified",
                verified_by=by,
            )
        )
        await session.execute(text(selection.INSERT_ITEMS), {**params, "purge_id": purge_id})
        report = await _counts(session, purge_id, params)
        await session.execute(
            update(TrackerPurgeRow).where(TrackerPurgeRow.id == purge_id).values(report=report)
        )
        if audit:
            await session.execute(_audit_row(AuditAction.TRACKER_PURGE_VERIFY, by, purge_id))
    return await get_purge(sessions, purge_id)


def _refusal(exc: DBAPIError, purge_id: str) -> ConflictError | None:
    state = getattr(exc.orig, "sqlstate", None)
    if state == TYPE_NOT_PURGEABLE:
        return ConflictError(
            f"purge {purge_id} holds a conversation of a Tracker type it may not purge; "
            "verify again"
        )
    if state == CHANGED_SINCE_VERIFY:
        return ConflictError(
            f"purge {purge_id} changed since it was verified (a conversation now belongs to an "
            "open follow-up's thread); verify again"
        )
    return None


async def _delete_chunk(sessions: Sessions, purge_id: str, ids: list[str]) -> None:
    async with sessions() as session, session.begin():
        # Serialises concurrent confirms of one purge: each chunk's counts land once.
        await session.execute(
            select(TrackerPurgeRow.id).where(TrackerPurgeRow.id == purge_id).with_for_update()
        )
        try:
            done = (
                await session.execute(text(PURGE_CHUNK), {"purge_id": purge_id, "ids": ids})
            ).one()
        except DBAPIError as exc:
            refusal = _refusal(exc, purge_id)
            if refusal is None:
                raise
            raise refusal from None  # the driver's text may quote the statement's values
        await session.execute(
            text(ADD_DELETED),
            {
                "purge_id": purge_id,
                "c": int(done.conversations_deleted),
                "t": int(done.trackers_deleted),
            },
        )


async def confirm_purge(
    sessions: Sessions,
    ops: OpsConfig,
    purge_id: str,
    *,
    by: str,
    chunk_size: int = 500,
    audit: bool = False,
    progress: Callable[[int], None] | None = None,
) -> PurgeReport:
    """Delete exactly what the verify stage listed; a confirmed purge is returned as it is.

    Args:
        sessions: Session factory.
        ops: The operations configuration (the types must still allow purging).
        purge_id: The verified purge.
        by: Who confirms.
        chunk_size: Conversations deleted per transaction.
        audit: Write the access-trail row here (the CLI and the retention run do).
        progress: Called after each chunk with the conversations walked so far (heartbeats).

    Raises:
        NotFoundError: No purge has this id (404).
        ConflictError: A type no longer allows purging, or the list changed (409).
    """
    current = await get_purge(sessions, purge_id)
    if current.state == "confirmed":
        return current
    for code in current.purge_types:
        found = ops.tracker_type(code)
        if found is None or not found.allow_purge:
            raise ConflictError(
                f"Tracker type {code} does not allow purging any more; purge {purge_id} "
                "cannot be confirmed"
            )
    walked, after = 0, ""
    while True:
        async with sessions() as session:
            ids = list(
                (
                    await session.scalars(
                        select(TrackerPurgeItemRow.conversation_id)
                        .where(
                            TrackerPurgeItemRow.purge_id == purge_id,
                            TrackerPurgeItemRow.conversation_id > after,
                        )
                        .order_by(TrackerPurgeItemRow.conversation_id)
                        .limit(chunk_size)
                    )
                ).all()
            )
        if not ids:
            break
        await _delete_chunk(sessions, purge_id, ids)
        walked, after = walked + len(ids), ids[-1]
        if progress is not None:
            progress(walked)
    async with sessions() as session, session.begin():
        confirmed = await session.execute(
            update(TrackerPurgeRow)
            .where(TrackerPurgeRow.id == purge_id, TrackerPurgeRow.state == "verified")
            .values(state="confirmed", confirmed_by=by, confirmed_at=text("now()"))
        )
        if audit and confirmed.rowcount:  # type: ignore[attr-defined]
            await session.execute(_audit_row(AuditAction.TRACKER_PURGE_CONFIRM, by, purge_id))
    return await get_purge(sessions, purge_id)
