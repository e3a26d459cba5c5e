"""Shared by the hostile-input tests: inputs, and the look at Temporal and PostgreSQL that proves
nothing was written."""

from __future__ import annotations

import random
import uuid
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from contracts.assignments.messages import FOLLOWUP_ASSIGNED

ASSIGNEE = f"HX{random.getrandbits(24):06x}"
"""The hostile tests' own assignee (JD's follow-ups belong to the e2e story)."""


def new_member() -> str:
    """A random 10-digit member id: no other test writes for it."""
    return str(random.randint(10**9, 10**10 - 1))


def assignment_event(**overrides: Any) -> dict[str, Any]:
    """A valid ``cu.followup.assigned.v1`` CloudEvent (MS/MS note for :data:`ASSIGNEE`)."""
    data: dict[str, Any] = {
        "assignment_id": f"asg-{uuid.uuid4().hex[:12]}",
        "member_id": new_member(),
        "tracker_type": "MS",
        "memo_type": "MS",
        "note": "Member asked about a CD rate.",
        "assignee_employee_id": ASSIGNEE,
        "assigned_by": "TELLER",
        "follow_up_on": "2031-05-05",
    }
    data.update(overrides)
    return {
        "specversion": "1.0",
        "id": f"evt-{data['assignment_id']}",
        "source": "/partners/teller",
        "type": FOLLOWUP_ASSIGNED,
        "time": "2026-11-20T10:00:00Z",
        "datacontenttype": "application/json",
        "subject": data["member_id"],
        "data": data,
    }


async def workflow_exists(temporal: Client, workflow_id: str) -> bool:
    """Whether Temporal knows a workflow with this id (read from the server, not visibility)."""
    try:
        await temporal.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def count(database_url: str, sql: str, *args: object) -> int:
    """The single number a ``SELECT count(*)`` query answers."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        found: int = await connection.fetchval(sql, *args)
        return found
    finally:
        await connection.close()
