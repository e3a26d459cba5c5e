"""Custom Temporal search attributes (names and server types).

They carry business keys and states only: never member messages or phone numbers, because
search attributes are stored unencrypted and shown to every operator.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class SearchAttribute(StrEnum):
    """The name of each custom search attribute, as the Temporal server knows it."""

    MEMBER_ID = "MemberId"
    DEPARTMENT = "Department"
    REQUEST_STATE = "RequestState"
    CLAIMED_BY = "ClaimedBy"
    ASSIGNEE_ID = "AssigneeId"
    FOLLOW_UP_STATUS = "FollowUpStatus"
    SCORING_PERIOD = "ScoringPeriod"


SEARCH_ATTRIBUTES: Final[dict[str, str]] = {name.value: "Keyword" for name in SearchAttribute}
"""Every custom search attribute and its server type (all are keywords), for registration."""
