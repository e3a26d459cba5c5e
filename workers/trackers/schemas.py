"""Request and response bodies of the employee desk API (docs/http-api.md)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class CompleteBody(BaseModel):
    """``POST /follow-ups/{id}/complete``."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, min_length=1, max_length=4000)


class ReassignBody(BaseModel):
    """``POST /follow-ups/{id}/reassign``."""

    model_config = ConfigDict(extra="forbid")

    assignee_employee_id: str = Field(min_length=1, max_length=16)
    note: str | None = Field(default=None, min_length=1, max_length=4000)


class NextFollowUpBody(BaseModel):
    """The follow-up that replaces the current one."""

    model_config = ConfigDict(extra="forbid")

    assignee_employee_id: str = Field(min_length=1, max_length=16)
    due_on: date


class NoteBody(BaseModel):
    """``POST /follow-ups/{id}/notes``."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=4000)
    memo_type: str | None = Field(default=None, pattern=r"^[A-Z0-9]{2}$")
    next_follow_up: NextFollowUpBody | None = None
