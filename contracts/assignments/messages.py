"""Kafka message data (docs/messages.md): inbound requests and outbound notifications."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from contracts.vocabulary import BusinessKey, Code2, EmployeeId, MemberId

FOLLOWUP_ASSIGNED = "cu.followup.assigned.v1"


class FollowUpAssigned(BaseModel):
    """``cu.followup.assigned.v1``: another system asks an employee to follow up."""

    model_config = ConfigDict(extra="ignore")

    assignment_id: BusinessKey
    member_id: MemberId
    account_suffix: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")] = "000"
    tracker_type: Code2
    memo_type: Code2
    note: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    assignee_employee_id: EmployeeId
    assigned_by: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    follow_up_on: date
    need_group: str | None = None
    task: str | None = None
