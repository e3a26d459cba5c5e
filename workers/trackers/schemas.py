"""Request and response bodies of the employee desk API (docs/http-api.md).

Field rules come from ``contracts.vocabulary``, the same types the Update inputs use, so a body
that passes here is one the follow-up's activities can store.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.vocabulary import (
    AccountSuffix,
    Code2,
    DueDate,
    EmployeeId,
    NoteText,
    OptionalNote,
    ShortCode16,
)


class CompleteBody(BaseModel):
    """``POST /follow-ups/{id}/complete``."""

    model_config = ConfigDict(extra="forbid")

    note: NoteText | None = Field(default=None, repr=False)


class ReassignBody(BaseModel):
    """``POST /follow-ups/{id}/reassign``."""

    model_config = ConfigDict(extra="forbid")

    assignee_employee_id: EmployeeId
    note: NoteText | None = Field(default=None, repr=False)


class NextFollowUpBody(BaseModel):
    """The follow-up that replaces the current one."""

    model_config = ConfigDict(extra="forbid")

    assignee_employee_id: EmployeeId
    due_on: DueDate


class NoteBody(BaseModel):
    """``POST /follow-ups/{id}/notes``."""

    model_config = ConfigDict(extra="forbid")

    note: NoteText = Field(repr=False)
    memo_type: Code2 | None = None
    next_follow_up: NextFollowUpBody | None = None


class NewFollowUpBody(BaseModel):
    """The follow-up a desk note opens: who gets back to the member, by when, and a word for
    the assignee (written as a note in the follow-up's thread)."""

    model_config = ConfigDict(extra="forbid")

    assignee_employee_id: EmployeeId
    due_on: DueDate
    note: OptionalNote = Field(default=None, repr=False)


class ConversationBody(BaseModel):
    """``POST /members/{member_id}/trackers/conversations`` (docs/http-api.md)."""

    model_config = ConfigDict(extra="forbid")

    tracker_type: Code2
    account_suffix: AccountSuffix = "000"
    memo_type: Code2
    text: NoteText = Field(repr=False)
    new_tracker: bool = False
    """Start a new Tracker (multi-Tracker types only; one-per-member types always append)."""
    follow_up: NewFollowUpBody | None = None
    need_group: ShortCode16 | None = None
    """Required, with ``task``, on cross-sales types (docs/operations.md, "Cross-sales")."""
    task: ShortCode16 | None = None


class ConversationWritten(BaseModel):
    """The answer of a desk note (the same again for a retry with the same key)."""

    tracker_id: str
    conversation_id: str
    follow_up_id: str | None = None


class TrackerItems(BaseModel):
    """``GET /members/{member_id}/trackers``: the Trackers, and where the next page starts."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None
    """Pass as ``cursor`` for the next page of conversations; None on the last page and on the
    unfiltered, unpaged answer (every conversation)."""
