"""Inputs and results of the Tracker consolidate and copy workflows.

Consolidate moves every conversation of one Tracker into another of the same member, type and
base (``000``) account; the emptied Tracker is removed. Copy writes copies of a Tracker's
conversations (all, or chosen ones) on another membership, each copy linked to its source. Both
are asked for from the desk with an ``Idempotency-Key``; the ids below are derived from it.

Pydantic models only, built inside workflows: no I/O, no clocks.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from contracts.vocabulary import EmployeeId, MemberId, NoNul

RecordId = Annotated[str, Field(min_length=1, max_length=36), NoNul()]
"""A Tracker or conversation id (``trackers.id``, ``conversations.id``)."""


class ConsolidationInput(BaseModel):
    """Start input of ``ConsolidateTrackersWorkflow``."""

    consolidation_id: RecordId
    """Derived from the caller and their ``Idempotency-Key``: the move's one identity."""
    member_id: MemberId
    tracker_ids: Annotated[list[RecordId], Field(min_length=2, max_length=2)]
    """The two Trackers; the older one survives and keeps its name."""
    employee_id: EmployeeId
    """Who asked (recorded on every relocation)."""


class ConsolidationResult(BaseModel):
    """What a consolidation did (the same again for a retry or a re-submitted key)."""

    consolidation_id: str
    tracker_id: str
    """The surviving Tracker, now holding every conversation of both."""
    removed_tracker_id: str
    """The emptied Tracker, gone."""
    moved: int
    """Conversations relocated."""


class CopyInput(BaseModel):
    """Start input of ``CopyTrackerWorkflow``."""

    copy_id: RecordId
    """Derived from the caller and their ``Idempotency-Key``: the copy's one identity."""
    member_id: MemberId
    """The membership the source Tracker belongs to."""
    tracker_id: RecordId
    conversation_ids: Annotated[list[RecordId], Field(max_length=1000)] | None = None
    """Only these conversations of the Tracker (None: every one)."""
    to_member_id: MemberId
    employee_id: EmployeeId


class CopiedConversation(BaseModel):
    """One copy and the conversation it was copied from."""

    source_conversation_id: str
    conversation_id: str


class CopyResult(BaseModel):
    """Where the copies landed (the same again for a retry or a re-submitted key)."""

    copy_id: str
    tracker_id: str
    """The target membership's Tracker holding the copies."""
    copies: list[CopiedConversation]
    """Oldest source note first."""


class CopyPlan(BaseModel):
    """The conversations a copy writes, fixed once so a retry copies the very same ones."""

    source_conversation_ids: list[str]
    """Oldest first."""


class CopyStep(BaseModel):
    """Input of the activity writing the copies."""

    request: CopyInput
    source_conversation_ids: list[str]
    """The plan's conversations (:class:`CopyPlan`), oldest first."""
