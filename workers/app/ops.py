"""``memberflow ops``: what operators check first — workflows, stuck work, dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import Client

from contracts.platform.operations import OpsConfig
from contracts.vocabulary import FollowUpFilter
from workers.app.runtime import worker_workflows
from workers.contacts import contact_store as contacts
from workers.platform.clock import local_today, system_clock
from workers.platform.database import Sessions
from workers.platform.kafka_reader import topic_depth
from workers.platform.member_search import MemberSearchKey
from workers.platform.settings import Settings
from workers.trackers import follow_up_store as followups


def workflow_types() -> list[str]:
    """The type names of every workflow the worker runs (each is registered by class name)."""
    return [cls.__name__ for cls in worker_workflows()]


STATUSES = ("Running", "Completed", "Failed", "Terminated", "TimedOut")
STALE_QUEUE_AGE = timedelta(days=1)


@dataclass
class OpsSnapshot:
    """Everything ``memberflow ops`` prints."""

    workflows: dict[str, dict[str, int]]
    request_states: dict[str, int]
    stale_requests: int
    overdue_follow_ups: dict[str, int]
    dead_letters: dict[str, int]


async def workflow_counts(client: Client) -> dict[str, dict[str, int]]:
    """Executions per workflow type and status (Temporal visibility)."""
    counts: dict[str, dict[str, int]] = {}
    for workflow_type in workflow_types():
        row: dict[str, int] = {}
        for status in STATUSES:
            query = f"WorkflowType = '{workflow_type}' AND ExecutionStatus = '{status}'"
            row[status] = (await client.count_workflows(query)).count
        counts[workflow_type] = row
    return counts


async def member_workflows(
    client: Client, search_key: MemberSearchKey, member_id: str
) -> list[tuple[str, str, str]]:
    """(workflow id, type, status) of every workflow of one member, newest first.

    Found by ``MemberKey``: the number is hashed here and never sent to Temporal.
    """
    return [
        (wf.id, wf.workflow_type, wf.status.name.title() if wf.status else "Unknown")
        async for wf in client.list_workflows(search_key.query(member_id))
    ]


async def snapshot(
    settings: Settings,
    client: Client,
    sessions: Sessions,
    ops: OpsConfig,
    *,
    now: datetime | None = None,
) -> OpsSnapshot:
    """Collect the operator's view from Temporal, PostgreSQL and Kafka.

    ``now`` (default: the current time) dates stale requests and, in the credit union's time
    zone, the day overdue follow-ups are judged against.
    """
    moment = now or system_clock()
    states, stale = await contacts.count_contact_requests(
        sessions, queued_before=moment - STALE_QUEUE_AGE, now=moment
    )
    overdue = await followups.list_follow_ups(
        sessions, status=FollowUpFilter.OVERDUE, today=local_today(ops, moment)
    )
    by_assignee: dict[str, int] = {}
    for follow_up in overdue:
        by_assignee[follow_up.assignee_employee_id] = (
            by_assignee.get(follow_up.assignee_employee_id, 0) + 1
        )
    topics = settings.topics
    dead = {
        topics.dlq(t): await topic_depth(settings.kafka, topics.dlq(t)) for t in topics.inbound()
    }
    return OpsSnapshot(
        workflows=await workflow_counts(client),
        request_states=states,
        stale_requests=stale,
        overdue_follow_ups=by_assignee,
        dead_letters=dead,
    )
