"""Row -> record conversions and small helpers shared by the store modules."""

from __future__ import annotations

from datetime import date

from contracts.vocabulary import FollowUpState, FollowUpStatus
from workers.trackers.records import ConversationRecord, FollowUpRecord
from workers.trackers.tables import ConversationRow, FollowUpRow


def follow_up_status(row: FollowUpRow, today: date) -> FollowUpStatus:
    """Overdue is derived, never stored: outstanding with a due date before today."""
    if row.status == FollowUpState.COMPLETED:
        return FollowUpStatus.COMPLETED
    return FollowUpStatus.OVERDUE if row.due_on < today else FollowUpStatus.OUTSTANDING


def follow_up_record(row: FollowUpRow, today: date) -> FollowUpRecord:
    """The record of a follow-up row as of ``today``."""
    return FollowUpRecord(
        id=row.id,
        conversation_id=row.conversation_id,
        member_id=row.member_id,
        tracker_id=row.tracker_id,
        assignee_employee_id=row.assignee_employee_id,
        assigned_by=row.assigned_by,
        due_on=row.due_on,
        status=follow_up_status(row, today),
        completed_at=row.completed_at,
        completed_by=row.completed_by,
        created_at=row.created_at,
        parent_follow_up_id=row.parent_follow_up_id,
        thread_id=row.thread_id,
    )


def conversation_record(
    row: ConversationRow, follow_ups: list[FollowUpRecord] | None = None
) -> ConversationRecord:
    """The record of a conversation row."""
    return ConversationRecord(
        id=row.id,
        tracker_id=row.tracker_id,
        seq=row.seq,
        created_at=row.created_at,
        employee_id=row.employee_id,
        memo_type=row.memo_type,
        need_group=row.need_group,
        task=row.task,
        text=row.text,
        thread_id=row.thread_id,
        follow_ups=follow_ups or [],
    )
