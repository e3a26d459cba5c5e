"""What the API and the CLI show of mass Tracker batches: list, progress, report, skipped.

Progress is counted in ``mass_tracker_members`` (it answers with no worker running); the
workflow's ``progress`` query is the CLI's live view.
"""

from __future__ import annotations

from contracts.trackers.mass import (
    MassFollowUp,
    MassTrackerCounts,
    MassTrackerReport,
    MassTrackerSummary,
    MassTrackerView,
    SkippedMember,
)
from workers.platform.database import Sessions
from workers.platform.memberships import raw_connection


def _report(stored: object) -> MassTrackerReport | None:
    # asyncpg hands JSONB over as text on the engine's connections (SQLAlchemy's codec).
    if stored is None:
        return None
    if isinstance(stored, str | bytes):
        return MassTrackerReport.model_validate_json(stored)
    return MassTrackerReport.model_validate(stored)


_SUMMARY_COLUMNS = (
    "batch_id, mode, tracker_type, memo_type, task, need_group, requested_by, state, "
    "members_total, duplicates, as_of, submitted_at, finished_at"
)


async def list_batches(sessions: Sessions, limit: int = 100) -> list[MassTrackerSummary]:
    """The newest batches first (no member data)."""
    async with raw_connection(sessions) as conn:
        rows = await conn.fetch(
            f"SELECT {_SUMMARY_COLUMNS} FROM mass_tracker_batches "
            "ORDER BY submitted_at DESC, batch_id LIMIT $1",
            limit,
        )
    return [MassTrackerSummary(**dict(r)) for r in rows]


async def batch_counts(sessions: Sessions, batch_id: str) -> MassTrackerCounts:
    """The batch's outcomes so far, counted in ``mass_tracker_members``."""
    async with raw_connection(sessions) as conn:
        row = await conn.fetchrow(
            """
            SELECT count(outcome) AS done,
                   count(*) FILTER (WHERE outcome = 'created') AS created,
                   count(*) FILTER (WHERE outcome = 'appended') AS appended,
                   count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
                   count(follow_up_id) AS follow_ups_opened,
                   count(*) FILTER (WHERE follow_up_started) AS follow_ups_started
              FROM mass_tracker_members WHERE batch_id = $1
            """,
            batch_id,
        )
    return MassTrackerCounts(**dict(row or {}))


async def batch_view(
    sessions: Sessions, batch_id: str, *, skipped_limit: int = 1000
) -> MassTrackerView | None:
    """A batch with its progress, report and first skipped members, or None."""
    async with raw_connection(sessions) as conn:
        row = await conn.fetchrow(
            f"SELECT {_SUMMARY_COLUMNS}, follow_up_employee_id, follow_up_due_on, report "
            "FROM mass_tracker_batches WHERE batch_id = $1",
            batch_id,
        )
        if row is None:
            return None
        skipped = await conn.fetch(
            "SELECT member_id, reason FROM mass_tracker_members "
            "WHERE batch_id = $1 AND outcome = 'skipped' ORDER BY seq LIMIT $2",
            batch_id,
            skipped_limit,
        )
    values = dict(row)
    employee, due, report = (
        values.pop("follow_up_employee_id"),
        values.pop("follow_up_due_on"),
        values.pop("report"),
    )
    return MassTrackerView(
        **values,
        follow_up=MassFollowUp(employee_id=employee, due_on=due) if employee else None,
        progress=await batch_counts(sessions, batch_id),
        report=_report(report),
        skipped=[SkippedMember(member_id=s["member_id"], reason=s["reason"]) for s in skipped],
    )
