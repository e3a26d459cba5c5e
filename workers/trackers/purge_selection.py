"""Which conversations a purge selects: the Tracker types it may touch and the verify query.

Rules (docs/operations.md, "Purging Trackers"):

* every criterion given must hold; types not named means every type that allows purging;
* a named type that does not allow purging refuses the purge (409), so does a memo type that
  belongs only to such types; an unknown type or memo type is a bad request (422);
* a follow-up thread (the follow-ups sharing a ``thread_id``, the conversations they were opened
  on and the notes written in it) goes whole or not at all: a thread with an open follow-up
  keeps every conversation in it, and so does a thread that reaches a conversation the
  criteria do not select. Keeping one conversation keeps the other threads it belongs to too
  (the recursive ``bad_thread`` below), so no follow-up ever points at a deleted note.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts.platform.operations import OpsConfig
from contracts.trackers.purge import PurgeCriteria
from workers.platform.errors import ConflictError, InvalidInputError


def purge_types(ops: OpsConfig, criteria: PurgeCriteria) -> list[str]:
    """The Tracker types the purge may touch; refuses what the configuration does not allow.

    Raises:
        InvalidInputError: An unknown Tracker or memo type, or a memo type of none of the
            named Tracker types (422).
        ConflictError: A named type, or every type of a named memo type, does not allow
            purging; or no type does (409).
    """
    for code in criteria.tracker_types:
        found = ops.tracker_type(code)
        if found is None:
            raise InvalidInputError(f"Tracker type {code} is not configured")
        if not found.allow_purge:
            raise ConflictError(
                f"Tracker type {code} does not allow purging "
                "(allow_purge is off for it in the operations file)"
            )
    types = list(criteria.tracker_types) or [t.code for t in ops.tracker_types if t.allow_purge]
    if not types:
        raise ConflictError("no configured Tracker type allows purging")
    for memo in criteria.memo_types:
        owners = sorted({m.tracker_type for m in ops.memo_types if m.code == memo})
        if not owners:
            raise InvalidInputError(f"memo type {memo} is not configured")
        if any(owner in types for owner in owners):
            continue
        if criteria.tracker_types:
            raise InvalidInputError(
                f"memo type {memo} is not a memo type of the Tracker types named "
                f"({', '.join(types)})"
            )
        raise ConflictError(
            f"memo type {memo} belongs only to Tracker types that do not allow purging "
            f"({', '.join(owners)})"
        )
    return sorted(types)


def _start_of(day: date | None, zone: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=zone)


def selection_parameters(
    ops: OpsConfig, criteria: PurgeCriteria, types: list[str]
) -> dict[str, Any]:
    """Bind parameters of :data:`SELECTION`: days become instants in the credit union's zone."""
    zone = ZoneInfo(ops.time_zone)
    after_last = None if criteria.created_to is None else criteria.created_to + timedelta(days=1)
    return {
        "types": types,
        "memos": list(criteria.memo_types) or None,
        "from_ts": _start_of(criteria.created_from, zone),
        "to_ts": _start_of(after_last, zone),
    }


SELECTION = """
WITH RECURSIVE
cand AS (
    SELECT c.id, c.thread_id
    FROM conversations c JOIN trackers t ON t.id = c.tracker_id
    WHERE t.tracker_type = ANY(CAST(:types AS varchar[]))
      AND (CAST(:memos AS varchar[]) IS NULL OR c.memo_type = ANY(CAST(:memos AS varchar[])))
      AND (CAST(:from_ts AS timestamptz) IS NULL OR c.created_at >= CAST(:from_ts AS timestamptz))
      AND (CAST(:to_ts AS timestamptz) IS NULL OR c.created_at < CAST(:to_ts AS timestamptz))
),
links AS (
    SELECT id AS conversation_id, thread_id FROM cand WHERE thread_id IS NOT NULL
    UNION
    SELECT f.conversation_id, f.thread_id FROM follow_ups f JOIN cand ON cand.id = f.conversation_id
),
open_thread AS (
    SELECT DISTINCT l.thread_id FROM links l
    WHERE EXISTS (
        SELECT 1 FROM follow_ups f WHERE f.thread_id = l.thread_id AND f.status = 'outstanding')
),
outside AS (
    SELECT DISTINCT x.thread_id FROM (
        SELECT c.id AS conversation_id, c.thread_id FROM conversations c
            WHERE c.thread_id IN (SELECT thread_id FROM links)
        UNION
        SELECT f.conversation_id, f.thread_id FROM follow_ups f
            WHERE f.thread_id IN (SELECT thread_id FROM links)
    ) x
    WHERE NOT EXISTS (SELECT 1 FROM cand WHERE cand.id = x.conversation_id)
),
bad_thread(thread_id) AS (
    SELECT thread_id FROM (SELECT thread_id FROM open_thread
                           UNION SELECT thread_id FROM outside) seed
    UNION
    SELECT l2.thread_id
    FROM bad_thread b
    JOIN links l1 ON l1.thread_id = b.thread_id
    JOIN links l2 ON l2.conversation_id = l1.conversation_id
),
kept_open AS (
    SELECT DISTINCT l.conversation_id FROM links l JOIN open_thread o USING (thread_id)
),
kept AS (
    SELECT DISTINCT l.conversation_id FROM links l JOIN bad_thread b USING (thread_id)
)
"""
"""The verify stage's common table expressions: ``cand`` (what the criteria match),
``kept_open`` and ``kept`` (kept for an open follow-up; kept for any reason)."""

INSERT_ITEMS = (
    SELECTION
    + """
INSERT INTO tracker_purge_items (purge_id, conversation_id)
SELECT :purge_id, cand.id FROM cand WHERE cand.id NOT IN (SELECT conversation_id FROM kept)
"""
)
"""List the purge's conversations under its id."""

KEPT_COUNTS = (
    SELECTION
    + """
SELECT (SELECT count(*) FROM kept_open) AS kept_open, (SELECT count(*) FROM kept) AS kept
"""
)
"""How many matching conversations are kept, for an open follow-up and in all."""

ITEM_COUNTS = """
SELECT t.tracker_type, c.memo_type, count(*) AS conversations
FROM tracker_purge_items i
JOIN conversations c ON c.id = i.conversation_id
JOIN trackers t ON t.id = c.tracker_id
WHERE i.purge_id = :purge_id
GROUP BY t.tracker_type, c.memo_type
ORDER BY t.tracker_type, c.memo_type
"""
"""The purge's conversations per Tracker type and memo type."""

EMPTIED_TRACKERS = """
SELECT count(*) FROM (
    SELECT c.tracker_id, count(*) AS listed
    FROM tracker_purge_items i JOIN conversations c ON c.id = i.conversation_id
    WHERE i.purge_id = :purge_id
    GROUP BY c.tracker_id
) p
WHERE p.listed = (SELECT count(*) FROM conversations a WHERE a.tracker_id = p.tracker_id)
"""
"""Trackers every conversation of which the purge lists (deleted once empty)."""
