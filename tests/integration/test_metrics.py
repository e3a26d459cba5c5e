"""Prometheus endpoints for operators: the bridge's Kafka metrics and the Temporal SDK's."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from deploy.processes import free_port
from tests.integration.conftest import running_app
from tests.kafka_helpers import contact_event, encoded, produce
from workers.platform.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def scrape(port: int, needle: str) -> str:
    async with httpx.AsyncClient() as http:
        for _ in range(150):
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            if needle in text:
                return text
            await asyncio.sleep(0.2)
    raise AssertionError(f"{needle} never appeared on :{port}/metrics")


async def test_bridge_and_temporal_metrics_are_served(
    base_settings: Settings, postgres_url: str
) -> None:
    bridge_port, sdk_port = free_port(), free_port()
    settings = base_settings.model_copy(
        update={
            "metrics_port": bridge_port,
            "temporal": base_settings.temporal.model_copy(
                update={"metrics_bind": f"127.0.0.1:{sdk_port}"}
            ),
        }
    )
    async with running_app(settings, postgres_url=postgres_url) as app:
        event = contact_event(member_id="8080")
        await produce(app.bootstrap, app.topics.contact_requests, [(b"8080", encoded(event))])
        # A sample labelled with the topic appears once the record was received.
        bridge = await scrape(bridge_port, app.topics.contact_requests)
        assert "faststream_received_messages_total{" in bridge
        # The worker ran the request's workflow task and its store activity.
        sdk = await scrape(sdk_port, "temporal_activity_execution_latency")
        assert "temporal_workflow_task_execution_latency" in sdk
