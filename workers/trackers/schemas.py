"""Request and response bodies of the employee desk API (docs/http-api.md).

Field rules come from ``contracts.vocabulary``, the same types the Update inputs use, so a body
that passes here is one the follow-up's activities can store.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.vocabulary import Code2, DueDate, EmployeeId, NoteText


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
