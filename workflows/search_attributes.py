"""Typed keys of the custom search attributes (``contracts.platform.search_attributes``)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

MEMBER_ID = SearchAttributeKey.for_keyword("MemberId")
DEPARTMENT = SearchAttributeKey.for_keyword("Department")
REQUEST_STATE = SearchAttributeKey.for_keyword("RequestState")
CLAIMED_BY = SearchAttributeKey.for_keyword("ClaimedBy")
ASSIGNEE_ID = SearchAttributeKey.for_keyword("AssigneeId")
FOLLOW_UP_STATUS = SearchAttributeKey.for_keyword("FollowUpStatus")
SCORING_PERIOD = SearchAttributeKey.for_keyword("ScoringPeriod")

ALL_KEYS = (
    MEMBER_ID,
    DEPARTMENT,
    REQUEST_STATE,
    CLAIMED_BY,
    ASSIGNEE_ID,
    FOLLOW_UP_STATUS,
    SCORING_PERIOD,
)
