"""Row -> record conversions shared by the store modules."""

from __future__ import annotations

from datetime import date

from contracts.vocabulary import FollowUpState, FollowUpStatus
from workers.trackers.records import ConversationRecord, FollowUpRecord, TrackerRecord
from workers.trackers.tables import ConversationRow, FollowUpRow, TrackerRow


def follow_up_status(row: FollowUpRow, today: date) -> FollowUpStatus:
    """Overdue is derived, never stored: outstanding with a due date before ``today``.

    ``today`` is the credit union's local date (``workers.platform.clock.local_today``).
    """
    if row.status == FollowUpState.COMPLETED:
        return FollowUpStatus.COMPLETED
    return FollowUpStatus.OVERDUE if row.due_on < today else FollowUpStatus.OUTSTANDING


def follow_up_record(row: FollowUpRow, today: date) -> FollowUpRecord:
    """The record of a follow-up row as of ``today`` (the credit union's local date)."""
    record = FollowUpRecord.model_validate(row, from_attributes=True)
    # The row stores outstanding or completed; the record's status also says overdue.
    return record.model_copy(update={"status": follow_up_status(row, today)})


def conversation_record(
    row: ConversationRow, follow_ups: list[FollowUpRecord] | None = None
) -> ConversationRecord:
    """The record of a conversation row, with the follow-ups opened on it."""
    record = ConversationRecord.model_validate(row, from_attributes=True)
    return record.model_copy(update={"follow_ups": follow_ups or []})


def tracker_record(row: TrackerRow, conversations: list[ConversationRecord]) -> TrackerRecord:
    """The record of a Tracker row with the conversations to show (all, or one page's)."""
    return TrackerRecord(
        id=row.id,
        member_id=row.member_id,
        account_suffix=row.account_suffix,
        tracker_type=row.tracker_type,
        description=row.description,
        created_at=row.created_at,
        conversation_count=len(conversations),
        conversations=conversations,
    )
