"""``memberflow ops``'s view: workflows by type and state, the queue, dead letters."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client

from tests.integration.conftest import RunningApp
from tests.kafka_helpers import consume, contact_event, encoded, produce
from workers.app.ops import snapshot

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_snapshot_counts_requests_workflows_and_dead_letters(
    app: RunningApp, temporal_client: Client
) -> None:
    good = contact_event(member_id="4040")
    await produce(
        app.bootstrap, app.topics.contact_requests, [(b"x", b"garbage"), (b"x", encoded(good))]
    )
    await consume(app.bootstrap, app.topics.dlq(app.topics.contact_requests), 1)
    sessions = app.services.session_factory
    for _ in range(150):
        view = await snapshot(app.settings, temporal_client, sessions, app.services.ops)
        if (
            view.request_states["queued"] >= 1
            and view.workflows["ContactRequestWorkflow"]["Running"]
        ):
            break
        await asyncio.sleep(0.2)
    assert view.dead_letters[app.topics.dlq(app.topics.contact_requests)] == 1
    assert view.dead_letters[app.topics.dlq(app.topics.followup_assignments)] == 0
    assert view.request_states["queued"] >= 1
    assert view.workflows["ContactRequestWorkflow"]["Running"] >= 1
