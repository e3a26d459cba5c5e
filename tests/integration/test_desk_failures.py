"""Poison input and stuck Updates on real servers: a value the store cannot hold answers 422 and
never wedges the request, and an Update that cannot finish answers 504 by the deadline."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.worker import Worker

from contracts.contacts.messages import ContactSubmitted
from contracts.contacts.workflow import ContactRequestInput
from contracts.ids import contact_request_workflow_id
from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app, submitted
from tests.kafka_helpers import consume, contact_event, encoded, produce
from workers.app.api import create_app
from workers.app.demo.desk_client import DeskClient, DeskError
from workers.app.runtime import workflow_runner
from workers.contacts import contact_store as contacts
from workers.platform.employees import add_employee
from workers.platform.settings import Settings
from workflows.contacts.contact_request import ContactRequestWorkflow

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GUARD_SECONDS = 60
"""Only so a regression fails instead of hanging the run; no test measures time."""


LOANS = ["LOANS"]
"""The department of the requests these tests submit (``contact_event``'s default)."""


@dataclass
class Desk:
    """The running app and two employees' clients (ids of their own in the shared database)."""

    app: RunningApp
    base: str
    ann: DeskClient
    bob: DeskClient
    bob_id: str
    tokens: dict[str, str]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def desk(base_settings: Settings, postgres_url: str) -> AsyncIterator[Desk]:
    """Worker, bridge and API with two employees of this module's own."""
    port = free_port()
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("worker", "bridge", "api"), api_port=port
    ) as app:
        sessions = app.services.session_factory
        suffix = f"{random.getrandbits(24):06x}"
        ann_id, bob_id = f"PA{suffix}", f"PB{suffix}"
        tokens = {
            ann_id: await add_employee(sessions, ann_id, "Ann", "employee", departments=LOANS),
            bob_id: await add_employee(sessions, bob_id, "Bob", "employee", departments=LOANS),
        }
        base = f"http://127.0.0.1:{port}"
        ann, bob = DeskClient(base, tokens[ann_id]), DeskClient(base, tokens[bob_id])
        yield Desk(app, base, ann, bob, bob_id, tokens)
        await ann.close()
        await bob.close()


async def test_a_nul_in_a_reply_is_422_and_the_request_is_not_wedged(desk: Desk) -> None:
    member = str(random.randint(10**8, 10**9 - 1))
    request_id = await submitted(desk.app, desk.ann, member_id=member)
    await desk.ann.claim(request_id)
    with pytest.raises(DeskError) as caught:
        await desk.ann.reply(request_id, {"body": "We unblocked\x00 your card"})
    assert caught.value.status == 422
    assert "NUL" in caught.value.detail and "unblocked" not in caught.value.detail
    # The request's workflow still answers: release and a new claim go through.
    released = await desk.ann.release(request_id)
    assert (released["state"], released["claimed_by"]) == ("queued", None)
    claimed = await desk.bob.claim(request_id)
    assert (claimed["state"], claimed["claimed_by"]) == ("claimed", desk.bob_id)
    assert await desk.ann.messages(member) == []


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("complete", {"note": "Done\x00"}, "note: Value error, must not contain NUL"),
        ("reassign", {"assignee_employee_id": "JD", "note": "\x00"}, "note: Value error"),
        ("notes", {"note": "Left a voicemail\x00"}, "note: Value error, must not contain NUL"),
        (
            "notes",
            {
                "note": "Left a voicemail",
                "next_follow_up": {"assignee_employee_id": "SR", "due_on": "9999-12-31"},
            },
            "next_follow_up.due_on: Value error, must be between",
        ),
    ],
)
async def test_follow_up_bodies_the_store_cannot_hold_are_422(
    desk: Desk, path: str, body: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(DeskError) as caught:
        await desk.ann._call("POST", f"/follow-ups/anything/{path}", json=body)
    assert caught.value.status == 422
    assert fragment in caught.value.detail


async def test_a_nul_in_a_contact_message_is_dead_lettered(desk: Desk) -> None:
    app = desk.app
    bad = contact_event(message="My card PIN is 1234\x00")
    await produce(app.bootstrap, app.topics.contact_requests, [(b"m", encoded(bad))])
    dead = await consume(app.bootstrap, app.topics.dlq(app.topics.contact_requests), 1)
    assert dead and dead[0].value == encoded(bad)
    reason = dead[0].headers["x-error"]
    assert "data.message: Value error, must not contain NUL" in reason
    assert "1234" not in reason


def _stuck_request(request_id: str) -> ContactRequestInput:
    return ContactRequestInput(
        event_id=f"evt-{request_id}",
        request=ContactSubmitted(
            request_id=request_id,
            member_id="77001",
            channel="online",
            subject="Stuck",
            message="Nobody will answer this one.",
            submitted_at=datetime.now(UTC),
        ),
    )


@pytest.mark.parametrize("worker", ["no worker", "worker without activities"])
async def test_an_update_that_cannot_finish_answers_504_by_the_deadline(
    desk: Desk, worker: str
) -> None:
    """No worker: the Update is never accepted. A worker without activities: it is accepted,
    then waits for ever on the request's first activity (as during a database outage)."""
    app = desk.app
    temporal = app.services.temporal
    request_id = f"stuck-{uuid.uuid4().hex[:12]}"
    start = _stuck_request(request_id)
    # The desk reads the queue row before it asks the workflow.
    await contacts.upsert_contact_request(app.services.session_factory, start.request)
    task_queue = f"stuck-{uuid.uuid4().hex[:8]}"
    handle = await temporal.start_workflow(
        ContactRequestWorkflow.run,
        start,
        id=contact_request_workflow_id(request_id),
        task_queue=task_queue,
    )
    settings = app.settings.model_copy(update={"api_update_timeout_seconds": 1.0})
    api = create_app(replace(app.services, settings=settings))
    headers = {"Authorization": f"Bearer {next(iter(desk.tokens.values()))}"}
    async with AsyncExitStack() as stack:
        if worker == "worker without activities":
            await stack.enter_async_context(
                Worker(
                    temporal,
                    task_queue=task_queue,
                    workflows=[ContactRequestWorkflow],
                    workflow_runner=workflow_runner(),
                )
            )
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://desk")
        )
        response = await asyncio.wait_for(
            http.post(f"/api/v1/contact-requests/{request_id}/claim", headers=headers),
            GUARD_SECONDS,
        )
        await handle.terminate("test done")
    assert response.status_code == 504
    detail = response.json()["detail"]
    assert f"contact request {request_id}" in detail and "1 s" in detail


@pytest.mark.parametrize(
    ("method", "path", "fragment"),
    [
        ("GET", "/contact-requests/REQ%00-1", "request_id"),
        ("POST", "/contact-requests/REQ%00-1/claim", "request_id"),
        ("POST", "/follow-ups/f%00/complete", "follow_up_id"),
        ("GET", "/follow-ups?assignee=SR%00", "assignee"),
    ],
)
async def test_ids_the_store_cannot_look_up_are_422(
    desk: Desk, method: str, path: str, fragment: str
) -> None:
    # A NUL reaches PostgreSQL even in a lookup, which refuses it (500 before the rules).
    with pytest.raises(DeskError) as caught:
        await desk.ann._call(method, path, json={} if method == "POST" else None)
    assert caught.value.status == 422
    assert fragment in caught.value.detail
