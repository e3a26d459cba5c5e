"""Activities of ``FollowUpAssignmentWorkflow``: the note and its follow-up row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from contracts.assignments.workflow import OpenAssignment
from contracts.platform.operations import OpsConfig
from contracts.trackers.follow_ups import FollowUpInput
from workers.contacts.activities import policy_snapshot
from workers.platform.clock import local_today
from workers.platform.database import Sessions
from workers.platform.errors import store_refusals
from workers.platform.member_search import MemberSearchKey
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers


class AssignmentActivities:
    """Activities bound to the store and the configuration."""

    def __init__(self, sessions: Sessions, ops: OpsConfig, search_key: MemberSearchKey) -> None:
        self._sessions = sessions
        self._ops = ops
        self._search_key = search_key

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for the worker."""
        return [self.open_assignment]

    @activity.defn
    async def open_assignment(self, request: OpenAssignment) -> FollowUpInput:
        """Write the assignment's note as a conversation and open its follow-up (idempotent)."""
        assignment = request.assignment
        key = f"followup-assignment-{assignment.assignment_id}"
        # A configuration or employee problem found after intake will not heal by retrying.
        with store_refusals():
            written = await trackers.append_conversation(
                self._sessions,
                self._ops,
                member_id=assignment.member_id,
                account_suffix=assignment.account_suffix,
                tracker_type=assignment.tracker_type,
                memo_type=assignment.memo_type,
                employee_id=assignment.assigned_by,
                text=assignment.note,
                idempotency_key=f"{key}/conversation",
                need_group=assignment.need_group,
                task=assignment.task,
            )
            record = await followups.open_follow_up(
                self._sessions,
                idempotency_key=f"{key}/follow-up",
                follow_up_id=request.follow_up_id,
                conversation_id=written.conversation_id,
                assignee_employee_id=assignment.assignee_employee_id,
                assigned_by=assignment.assigned_by,
                due_on=assignment.follow_up_on,
                today=local_today(self._ops),
            )
        return FollowUpInput(
            follow_up_id=record.id,
            member_id=assignment.member_id,
            member_key=self._search_key.of(assignment.member_id),
            tracker_id=written.tracker_id,
            conversation_id=written.conversation_id,
            assignee_employee_id=record.assignee_employee_id,
            assigned_by=assignment.assigned_by,
            due_on=record.due_on,
            # Codes only: the note may carry member details and notifications travel widely.
            summary=(
                f"{assignment.tracker_type}/{assignment.memo_type} follow-up "
                f"from {assignment.assigned_by}"
            ),
            policy=policy_snapshot(self._ops),
            memo_type=assignment.memo_type,
        )
