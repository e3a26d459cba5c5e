"""Custom Temporal search attributes (names and server types).

They carry business keys and states only: never member messages, phone numbers or member
numbers, because search attributes are stored unencrypted (the payload codec does not cover them)
and shown to every operator. A member's workflows are found by ``MemberKey``, a keyed hash of the
member number (``workers/platform/member_search.py``, docs/security.md).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class SearchAttribute(StrEnum):
    """The name of each custom search attribute, as the Temporal server knows it."""

    MEMBER_ID = "MemberId"
    """Deprecated: the member number in clear, set only by runs started before ``MemberKey``
    (kept registered so those runs still upsert; new runs unset it)."""
    MEMBER_KEY = "MemberKey"
    """HMAC-SHA256 of the member number under the search hash key: 64 hex digits."""
    DEPARTMENT = "Department"
    REQUEST_STATE = "RequestState"
    CLAIMED_BY = "ClaimedBy"
    ASSIGNEE_ID = "AssigneeId"
    FOLLOW_UP_STATUS = "FollowUpStatus"
    SCORING_PERIOD = "ScoringPeriod"


SEARCH_ATTRIBUTES: Final[dict[str, str]] = {name.value: "Keyword" for name in SearchAttribute}
"""Every custom search attribute and its server type (all are keywords), for registration."""
