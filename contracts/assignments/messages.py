"""Kafka message data (docs/messages.md): inbound requests and outbound notifications."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from contracts.vocabulary import (
    BusinessKey,
    Code2,
    DueDate,
    EmployeeId,
    MemberId,
    NoteText,
    PartnerCode,
    ShortCode16,
)

FOLLOWUP_ASSIGNED = "cu.followup.assigned.v1"


class FollowUpAssigned(BaseModel):
    """``cu.followup.assigned.v1``: another system asks an employee to follow up.

    Every field fits the column it lands in (``conversations``, ``follow_ups``), and the due date
    is one the follow-up's deadlines can be computed from, so an accepted record never fails
    later inside an activity.
    """

    model_config = ConfigDict(extra="ignore")

    assignment_id: BusinessKey
    member_id: MemberId
    account_suffix: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")] = "000"
    tracker_type: Code2
    memo_type: Code2
    note: NoteText
    assignee_employee_id: EmployeeId
    assigned_by: PartnerCode
    follow_up_on: DueDate
    need_group: ShortCode16 | None = None
    task: ShortCode16 | None = None
