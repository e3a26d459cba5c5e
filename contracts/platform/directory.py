"""The employee directory as the permission rules read it: the models workflows and activities
exchange (``look_up_directory``), and what ``contracts.platform.permissions`` reads."""

from __future__ import annotations

from pydantic import BaseModel, Field

from contracts.vocabulary import Role


class DirectoryEntry(BaseModel):
    """One employee as the directory (the ``employees`` table) holds them."""

    employee_id: str
    role: Role
    departments: list[str] = Field(default_factory=list)
    supervisor_id: str | None = None


class DirectoryLookup(BaseModel):
    """Employees to look up in the directory (an activity's input)."""

    employee_ids: list[str]


class DirectoryAnswer(BaseModel):
    """The employees found; an unknown id is simply absent."""

    entries: list[DirectoryEntry] = Field(default_factory=list)

    def get(self, employee_id: str | None) -> DirectoryEntry | None:
        """The entry of ``employee_id``, or None."""
        return next((e for e in self.entries if e.employee_id == employee_id), None)
