"""Typed keys of the custom search attributes named in ``contracts.platform.search_attributes``."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

from contracts.platform.search_attributes import SearchAttribute


def _keyword(name: SearchAttribute) -> SearchAttributeKey[str]:
    # The plain string, not the enum member: it goes into protobuf fields and payload metadata.
    return SearchAttributeKey.for_keyword(name.value)


MEMBER_ID = _keyword(SearchAttribute.MEMBER_ID)
MEMBER_KEY = _keyword(SearchAttribute.MEMBER_KEY)
DEPARTMENT = _keyword(SearchAttribute.DEPARTMENT)
REQUEST_STATE = _keyword(SearchAttribute.REQUEST_STATE)
CLAIMED_BY = _keyword(SearchAttribute.CLAIMED_BY)
ASSIGNEE_ID = _keyword(SearchAttribute.ASSIGNEE_ID)
FOLLOW_UP_STATUS = _keyword(SearchAttribute.FOLLOW_UP_STATUS)
SCORING_PERIOD = _keyword(SearchAttribute.SCORING_PERIOD)
