"""Contact Us records from Kafka: parsed, checked against the departments, then started."""

from __future__ import annotations

from temporalio.client import Client

from contracts.contacts.messages import CONTACT_SUBMITTED, ContactSubmitted
from contracts.contacts.workflow import ContactRequestInput
from contracts.ids import contact_request_workflow_id
from workers.platform.intake import Accepted, Rejected, parse_typed
from workers.platform.member_search import MemberSearchKey
from workers.platform.temporal_retries import start_once
from workflows.contacts.contact_request import ContactRequestWorkflow


async def start_contact_request(
    client: Client, task_queue: str, search_key: MemberSearchKey, start: ContactRequestInput
) -> bool:
    """Start the request's workflow unless it exists already.

    ``search_key`` turns the member number into the ``MemberKey`` search attribute.

    Returns:
        False when the request's workflow had already finished (a late redelivery), True when
        it was started now or is still running (``USE_EXISTING`` hands back the open run).
    """
    return await start_once(
        client,
        ContactRequestWorkflow.run,
        start,
        workflow_id=contact_request_workflow_id(start.request.request_id),
        task_queue=task_queue,
        search_attributes=ContactRequestWorkflow.initial_search_attributes(
            start.request, search_key.of(start.request.member_id)
        ),
    )


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
