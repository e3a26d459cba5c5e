"""Kafka message data (docs/messages.md): inbound requests and outbound notifications."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

FOLLOWUP_ASSIGNED_NOTICE = "cu.employee.followup-assigned.v1"


FOLLOWUP_DUE_NOTICE = "cu.employee.followup-due.v1"


FOLLOWUP_OVERDUE_NOTICE = "cu.employee.followup-overdue.v1"


FOLLOWUP_REASSIGNED_NOTICE = "cu.employee.followup-reassigned.v1"


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
