"""Reads that Tracker writes decide with (kept out of ``tracker_store``, which is near its size).

:func:`note_origin` gives the notes written in a follow-up's thread the classification of the
follow-up's own conversation: its memo type by default, and its Need Group and Task, which a
cross-sales Tracker type requires on every note (docs/operations.md, "Cross-sales").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from workers.platform.database import Sessions
from workers.trackers.tables import ConversationRow, FollowUpRow, TrackerRow


@dataclass(frozen=True)
class NoteOrigin:
    """The conversation a follow-up hangs off, as its later notes inherit it."""

    tracker_id: str
    """The Tracker it is in now (a consolidation may have moved it since the follow-up opened)."""
    tracker_type: str
    memo_type: str
    need_group: str | None
    task: str | None


async def note_origin(sessions: Sessions, conversation_id: str) -> NoteOrigin | None:
    """The Tracker type and classification of a conversation, or None when there is none.

    Args:
        sessions: Session factory.
        conversation_id: The follow-up's own conversation.

    Returns:
        Its Tracker's type, its memo type, Need Group and Task.
    """
    async with sessions() as session:
        found = (
            await session.execute(
                select(
                    TrackerRow.id,
                    TrackerRow.tracker_type,
                    ConversationRow.memo_type,
                    ConversationRow.need_group,
                    ConversationRow.task,
                )
                .join(TrackerRow, TrackerRow.id == ConversationRow.tracker_id)
                .where(ConversationRow.id == conversation_id)
            )
        ).first()
    if found is None:
        return None
    tracker_id, tracker_type, memo_type, need_group, task = found
    return NoteOrigin(tracker_id, tracker_type, memo_type, need_group, task)


@dataclass(frozen=True)
class KeyedConversation:
    """A conversation found by its idempotency key, with what a retry must repeat exactly."""

    tracker_id: str
    conversation_id: str
    member_id: str
    account_suffix: str
    tracker_type: str
    memo_type: str
    text: str
    need_group: str | None
    task: str | None
    thread_id: str | None = None
    """The follow-up thread the note was written in (a desk note: the follow-up it opens)."""


async def rows_under_key(
    session: AsyncSession, key: str
) -> tuple[ConversationRow, TrackerRow] | None:
    """The conversation written under idempotency key ``key`` and its Tracker, or None."""
    found = (
        await session.execute(
            select(ConversationRow, TrackerRow)
            .join(TrackerRow, TrackerRow.id == ConversationRow.tracker_id)
            .where(ConversationRow.idempotency_key == key)
        )
    ).first()
    return None if found is None else (found[0], found[1])


async def keyed_conversation(sessions: Sessions, key: str) -> KeyedConversation | None:
    """The conversation written under idempotency key ``key`` (exact match), or None."""
    async with sessions() as session:
        found = await rows_under_key(session, key)
    if found is None:
        return None
    conversation, tracker = found
    return KeyedConversation(
        tracker_id=tracker.id,
        conversation_id=conversation.id,
        member_id=tracker.member_id,
        account_suffix=tracker.account_suffix,
        tracker_type=tracker.tracker_type,
        memo_type=conversation.memo_type,
        text=conversation.text,
        need_group=conversation.need_group,
        task=conversation.task,
        thread_id=conversation.thread_id,
    )


async def keyed_follow_up(sessions: Sessions, key: str) -> str | None:
    """The id of the follow-up opened under idempotency key ``key`` (exact match), or None."""
    async with sessions() as session:
        found = await session.scalar(
            select(FollowUpRow.id).where(FollowUpRow.idempotency_key == key)
        )
    return str(found) if found is not None else None
