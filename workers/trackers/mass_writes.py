"""One chunk of a mass Tracker batch, written set-based in one transaction.

The chunk's members still without an outcome are read ``FOR UPDATE``; their conversations (and
new Trackers, and follow-ups) are written with a handful of array statements, not one round
trip per member; each member's outcome is marked in the same transaction. A retried chunk
(a crash, a lost activity result, a second attempt racing the first) therefore finds its
members marked and writes nothing; an attempt racing one still running waits on the row locks
and then finds them marked too.

Tracker writes take the same per-(member, type) advisory locks as ``tracker_store`` (in member
order, so two batches never deadlock), so a desk note written at the same moment for the same
member never creates a second one-per-member Tracker nor collides on a conversation ``seq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from contracts.trackers.mass import (
    MEMBERSHIP_CLOSED,
    UNKNOWN_MEMBER,
    MassChunkResult,
    MassMode,
)
from workers.platform.database import derived_id


@dataclass(frozen=True)
class BatchPlan:
    """What every member of the batch gets (read once per chunk from ``mass_tracker_batches``)."""

    batch_id: str
    mode: MassMode
    tracker_type: str
    memo_type: str
    need_group: str | None
    task: str | None
    text: str
    requested_by: str
    follow_up_employee_id: str | None
    follow_up_due_on: date | None
    as_of: date
    single_per_member: bool
    description: str


def conversation_key(batch_id: str, member_id: str) -> str:
    """The idempotency key of the conversation a batch writes for a member."""
    return f"mass/{batch_id}/{member_id}"


async def _claim(conn: asyncpg.Connection, plan: BatchPlan, first: int, last: int) -> list[Any]:
    # FOR UPDATE OF m: a concurrent attempt of the same chunk waits here, then (READ COMMITTED
    # re-checks the WHERE on the new row version) finds the members marked and skips them.
    return list(
        await conn.fetch(
            """
            SELECT m.member_id, r.member_id IS NOT NULL AS known,
                   r.closed_on IS NOT NULL AND r.closed_on <= $4 AS closed
              FROM mass_tracker_members m
              LEFT JOIN memberships r ON r.member_id = m.member_id
             WHERE m.batch_id = $1 AND m.seq BETWEEN $2 AND $3 AND m.outcome IS NULL
             ORDER BY m.member_id
               FOR UPDATE OF m
            """,
            plan.batch_id,
            first,
            last,
            plan.as_of,
        )
    )


async def _existing_trackers(
    conn: asyncpg.Connection, plan: BatchPlan, members: list[str]
) -> dict[str, str]:
    """Member → the Tracker ``tracker_store.append_conversation`` would append to."""
    if plan.single_per_member:
        # The member's one Tracker of the type, on whichever account (oldest, as the store).
        query = """
            SELECT DISTINCT ON (member_id) member_id, id FROM trackers
             WHERE tracker_type = $1 AND member_id = ANY($2::text[])
             ORDER BY member_id, created_at"""
    elif plan.mode is MassMode.NOTES:
        query = """
            SELECT DISTINCT ON (member_id) member_id, id FROM trackers
             WHERE tracker_type = $1 AND member_id = ANY($2::text[]) AND account_suffix = '000'
             ORDER BY member_id, created_at DESC"""
    else:
        return {}  # a lead on a type that allows several: a new Tracker each (one per incident)
    rows = await conn.fetch(query, plan.tracker_type, members)
    return {r["member_id"]: r["id"] for r in rows}


async def write_chunk(
    conn: asyncpg.Connection, plan: BatchPlan, first: int, last: int
) -> MassChunkResult:
    """Write the members ``first..last`` of the batch that have no outcome yet.

    Args:
        conn: A connection outside any transaction (the chunk is one transaction).
        plan: The batch.
        first: First sequence number of the chunk.
        last: Last sequence number of the chunk.

    Returns:
        The chunk's outcomes as stored (the same on every retry).
    """
    async with conn.transaction():
        pending = await _claim(conn, plan, first, last)
        skipped = [(r["member_id"], UNKNOWN_MEMBER) for r in pending if not r["known"]]
        skipped += [
            (r["member_id"], MEMBERSHIP_CLOSED) for r in pending if r["known"] and r["closed"]
        ]
        live = [r["member_id"] for r in pending if r["known"] and not r["closed"]]
        if live:
            await _write_live(conn, plan, live)
        if skipped:
            await conn.execute(
                """
                UPDATE mass_tracker_members m SET outcome = 'skipped', reason = u.reason,
                       written_at = now()
                  FROM unnest($2::text[], $3::text[]) AS u(member_id, reason)
                 WHERE m.batch_id = $1 AND m.member_id = u.member_id
                """,
                plan.batch_id,
                [s[0] for s in skipped],
                [s[1] for s in skipped],
            )
    return await chunk_counts(conn, plan.batch_id, first, last)


async def _write_live(conn: asyncpg.Connection, plan: BatchPlan, live: list[str]) -> None:
    # Same lock names as tracker_store.lock_name; taken in member order (live is sorted).
    await conn.execute(
        """
        SELECT pg_advisory_xact_lock(hashtextextended('tracker:' || n || ':' || $2, 0))
          FROM (SELECT n FROM unnest($1::text[]) AS n ORDER BY n) AS ordered
        """,
        live,
        plan.tracker_type,
    )
    existing = await _existing_trackers(conn, plan, live)
    fresh = [m for m in live if m not in existing]
    tracker_of = dict(existing)
    for member in fresh:
        tracker_of[member] = derived_id("mass-tracker", conversation_key(plan.batch_id, member))
    if fresh:
        await conn.execute(
            """
            INSERT INTO trackers (id, member_id, account_suffix, tracker_type, single_type,
                                  description)
            SELECT t, m, '000', $3, $4, $5 FROM unnest($1::text[], $2::text[]) AS u(t, m)
            """,
            [tracker_of[m] for m in fresh],
            fresh,
            plan.tracker_type,
            plan.tracker_type if plan.single_per_member else None,
            plan.description[:120],
        )
    keys = [conversation_key(plan.batch_id, m) for m in live]
    conversations = [derived_id("conversation", k) for k in keys]
    # Safe to number from max(seq): the advisory locks above keep every other writer out.
    await conn.execute(
        """
        INSERT INTO conversations (id, tracker_id, seq, employee_id, memo_type, need_group,
                                   task, text, idempotency_key)
        SELECT u.c, u.t, COALESCE((SELECT max(seq) FROM conversations WHERE tracker_id = u.t), 0)
                         + 1,
               $4, $5, $6, $7, $8, u.k
          FROM unnest($1::text[], $2::text[], $3::text[]) AS u(c, t, k)
        """,
        conversations,
        [tracker_of[m] for m in live],
        keys,
        plan.requested_by,
        plan.memo_type,
        plan.need_group,
        plan.task,
        plan.text,
    )
    follow_ups: list[str | None] = [None] * len(live)
    if plan.follow_up_employee_id is not None:
        follow_ups = [derived_id("mass-follow-up", k) for k in keys]
        await conn.execute(
            """
            INSERT INTO follow_ups (id, conversation_id, member_id, tracker_id,
                                    assignee_employee_id, assigned_by, due_on, status,
                                    idempotency_key, thread_id)
            SELECT u.f, u.c, u.m, u.t, $6, $7, $8, 'outstanding', u.k || '/follow-up', u.f
              FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                   AS u(f, c, m, t, k)
            """,
            follow_ups,
            conversations,
            live,
            [tracker_of[m] for m in live],
            keys,
            plan.follow_up_employee_id,
            plan.requested_by,
            plan.follow_up_due_on,
        )
    await conn.execute(
        """
        UPDATE mass_tracker_members m
           SET outcome = u.o, tracker_id = u.t, conversation_id = u.c, follow_up_id = u.f,
               written_at = now()
          FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
               AS u(member_id, o, t, c, f)
         WHERE m.batch_id = $1 AND m.member_id = u.member_id
        """,
        plan.batch_id,
        live,
        ["appended" if m in existing else "created" for m in live],
        [tracker_of[m] for m in live],
        conversations,
        follow_ups,
    )


async def chunk_counts(
    conn: asyncpg.Connection, batch_id: str, first: int, last: int
) -> MassChunkResult:
    """The stored outcomes of members ``first..last`` of a batch."""
    row = await conn.fetchrow(
        """
        SELECT count(*) FILTER (WHERE outcome = 'created') AS created,
               count(*) FILTER (WHERE outcome = 'appended') AS appended,
               count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
               count(follow_up_id) AS follow_ups_opened
          FROM mass_tracker_members
         WHERE batch_id = $1 AND seq BETWEEN $2 AND $3
        """,
        batch_id,
        first,
        last,
    )
    assert row is not None
    return MassChunkResult(**dict(row))
