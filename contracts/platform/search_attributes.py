"""Custom Temporal search attributes (names and server types).

They carry business keys and states only: never member messages or phone numbers, because
search attributes are stored unencrypted and shown to every operator.
"""

from __future__ import annotations

from typing import Final

SEARCH_ATTRIBUTES: Final[dict[str, str]] = {
    "MemberId": "Keyword",
    "Department": "Keyword",
    "RequestState": "Keyword",
    "ClaimedBy": "Keyword",
    "AssigneeId": "Keyword",
    "FollowUpStatus": "Keyword",
    "ScoringPeriod": "Keyword",
}
