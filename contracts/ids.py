"""Workflow ids: every one is a business key, so a redelivered message never starts twice.

Ids hold business keys only (request, follow-up, assignment ids, a period), never member
data: workflow ids are stored unencrypted and shown to every operator.
"""

from __future__ import annotations


def contact_request_workflow_id(request_id: str) -> str:
    """``ContactRequestWorkflow`` of one Contact Us request."""
    return f"contact-request-{request_id}"


def follow_up_workflow_id(follow_up_id: str) -> str:
    """``FollowUpWorkflow`` of one follow-up."""
    return f"follow-up-{follow_up_id}"


def assignment_workflow_id(assignment_id: str) -> str:
    """``FollowUpAssignmentWorkflow`` of one assignment from another system."""
    return f"followup-assignment-{assignment_id}"


def tier_scoring_workflow_id(period: str) -> str:
    """``TierScoringWorkflow`` of one scoring period (``YYYY-MM``)."""
    return f"tier-scoring-{period}"


TIER_SCHEDULE_ID = "tier-scoring-monthly"
"""The Temporal Schedule that starts the monthly scoring run."""

MONTHLY_TIER_WORKFLOW_ID = "tier-scoring-monthly-trigger"
"""Workflow id prefix of the Schedule's ``MonthlyTierScoringWorkflow`` runs."""


def mass_tracker_workflow_id(batch_id: str) -> str:
    """``MassTrackerWorkflow`` of one mass Tracker batch (the client's batch id)."""
    return f"mass-trackers-{batch_id}"


def tracker_consolidation_workflow_id(consolidation_id: str) -> str:
    """``ConsolidateTrackersWorkflow`` of one consolidation (an id derived from the desk's key)."""
    return f"tracker-consolidation-{consolidation_id}"


def tracker_copy_workflow_id(copy_id: str) -> str:
    """``CopyTrackerWorkflow`` of one copy (an id derived from the desk's key)."""
    return f"tracker-copy-{copy_id}"


TRACKER_RETENTION_SCHEDULE_ID = "tracker-retention-monthly"
"""The Temporal Schedule that applies each Tracker type's retention (off unless enabled)."""

TRACKER_RETENTION_WORKFLOW_ID = "tracker-retention-monthly-trigger"
"""Workflow id prefix of the Schedule's ``TrackerRetentionWorkflow`` runs."""
