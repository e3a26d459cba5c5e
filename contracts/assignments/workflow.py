"""Inputs and results of ``FollowUpAssignmentWorkflow`` (assignments from other systems)."""

from __future__ import annotations

from pydantic import BaseModel

from contracts.assignments.messages import FollowUpAssigned


class AssignmentInput(BaseModel):
    """A validated ``cu.followup.assigned.v1`` and the event that carried it."""

    event_id: str
    source: str
    assignment: FollowUpAssigned


class OpenAssignment(BaseModel):
    """Write the note as a conversation and open its follow-up row."""

    assignment: FollowUpAssigned
    follow_up_id: str


class AssignmentResult(BaseModel):
    """Where the assignment landed."""

    assignment_id: str
    tracker_id: str
    conversation_id: str
    follow_up_id: str
