"""Starting workflows from Kafka records: idempotent, retried while Temporal is unreachable."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.contacts.messages import CONTACT_SUBMITTED, ContactSubmitted
from contracts.contacts.workflow import ContactRequestInput
from contracts.ids import contact_request_workflow_id
from workers.platform.intake import Accepted, Rejected, parse_typed
from workers.platform.temporal_retries import with_retries
from workflows.contacts.contact_request import ContactRequestWorkflow


async def start_contact_request(
    client: Client, task_queue: str, start: ContactRequestInput
) -> bool:
    """Start the request's workflow unless it exists already.

    Returns:
        False when the request's workflow had already finished (a late redelivery), True when
        it was started now or is still running (``USE_EXISTING`` hands back the open run).
    """
    request = start.request
    workflow_id = contact_request_workflow_id(request.request_id)

    async def call() -> bool:
        try:
            # REJECT_DUPLICATE + USE_EXISTING: a redelivered record never re-runs a finished
            # request nor starts a second run of an open one (docs/messages.md, 'Idempotency').
            await client.start_workflow(
                ContactRequestWorkflow.run,
                start,
                id=workflow_id,
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=ContactRequestWorkflow.initial_search_attributes(request),
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    return await with_retries(call, f"start {workflow_id}")


def parse_contact(value: bytes | None, departments: set[str]) -> Accepted[ContactSubmitted]:
    """A ``cu.contact.submitted.v1`` record with a configured department (if any)."""
    accepted = parse_typed(value, CONTACT_SUBMITTED, ContactSubmitted)
    department = accepted.data.department
    if department is not None and department not in departments:
        known = ", ".join(sorted(departments))
        raise Rejected(
            f"invalid {CONTACT_SUBMITTED} data: department {department!r} is not one of {known}"
        )
    return accepted
