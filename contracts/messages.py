"""Kafka message data (INTERFACES.md §1): inbound requests and outbound notifications."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

CONTACT_SUBMITTED = "cu.contact.submitted.v1"
FOLLOWUP_ASSIGNED = "cu.followup.assigned.v1"
MEMBER_MESSAGE = "cu.member.message.v1"
FOLLOWUP_ASSIGNED_NOTICE = "cu.employee.followup-assigned.v1"
FOLLOWUP_DUE_NOTICE = "cu.employee.followup-due.v1"
FOLLOWUP_OVERDUE_NOTICE = "cu.employee.followup-overdue.v1"
FOLLOWUP_REASSIGNED_NOTICE = "cu.employee.followup-reassigned.v1"
TIER_LEVEL_CHANGED = "cu.tier.level-changed.v1"

BusinessKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
MemberId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}$")]
EmployeeId = Annotated[str, StringConstraints(min_length=1, max_length=16, strip_whitespace=True)]
Code2 = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]

_NANP = re.compile(r"^[2-9][0-9]{2}[2-9][0-9]{6}$")
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


def _valid_phone(value: str) -> str:
    if _NANP.match(value) or _E164.match(value):
        return value
    raise ValueError(
        "callback_phone must be a 10-digit NANP number or E.164 (+ and up to 15 digits)"
    )


class ContactSubmitted(BaseModel):
    """``cu.contact.submitted.v1``: a member pressed Contact Us.

    ``message`` and ``callback_phone`` are personal data: excluded from reprs so they never
    reach a log line by accident.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    request_id: BusinessKey
    member_id: MemberId
    channel: Literal["online", "mobile"]
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    message: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(repr=False)
    department: str | None = None
    callback_phone: str | None = Field(default=None, repr=False)
    callback_method: Literal["call", "text"] | None = None
    in_reply_to: BusinessKey | None = None
    submitted_at: AwareDatetime

    @model_validator(mode="after")
    def _phone_rules(self) -> ContactSubmitted:
        if self.callback_phone is not None:
            _valid_phone(self.callback_phone)
            if self.callback_method is None:
                self.callback_method = "call"
        return self


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


class MemberMessage(BaseModel):
    """``cu.member.message.v1``: a reply for the member's secure message centre."""

    message_id: str
    member_id: str
    request_id: str
    subject: str
    body: str
    sent_by_employee_id: str
    sent_at: datetime


class EmployeeNotification(BaseModel):
    """``cu.employee.followup-*.v1``: tells an employee about a follow-up (key: employee id)."""

    employee_id: str
    follow_up_id: str
    member_id: str
    tracker_id: str
    conversation_id: str
    due_on: date
    summary: str
    assigned_by: str
