"""``FollowUpAssignmentWorkflow``: a follow-up assigned by another system, written and started."""

from __future__ import annotations

from temporalio import workflow

from contracts.assignments.workflow import AssignmentInput, AssignmentResult, OpenAssignment
from contracts.trackers.follow_ups import FollowUpInput
from workflows.policies import WRITE_RETRY, WRITE_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from workers.assignments.activities import AssignmentActivities
    from workflows.trackers.follow_up_steps import start_follow_up_child


@workflow.defn
class FollowUpAssignmentWorkflow:
    """Conversation under the given Tracker and memo type, then a ``FollowUpWorkflow``."""

    @workflow.run
    async def run(self, start: AssignmentInput) -> AssignmentResult:
        """Write the note, open the follow-up, hand it to its own workflow."""
        # The follow-up id derives from the workflow's deterministic uuid: a retried activity
        # or a replayed task reuses it, so the follow-up is opened once.
        follow_up_id = str(workflow.uuid4())
        follow_up: FollowUpInput = await workflow.execute_activity_method(
            AssignmentActivities.open_assignment,
            OpenAssignment(assignment=start.assignment, follow_up_id=follow_up_id),
            start_to_close_timeout=WRITE_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        await start_follow_up_child(follow_up)
        return AssignmentResult(
            assignment_id=start.assignment.assignment_id,
            tracker_id=follow_up.tracker_id,
            conversation_id=follow_up.conversation_id,
            follow_up_id=follow_up_id,
        )
