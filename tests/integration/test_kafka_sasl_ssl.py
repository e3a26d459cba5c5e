"""memberflow against a Kafka broker that takes SASL/SCRAM over TLS only.

A broker of its own (``deploy.kafka.KafkaBroker`` with ``deploy.kafka_security``: the same
listener ``memberflow stack up --kafka-security sasl_ssl`` configures) in a temporary folder; the
session's Temporal and PostgreSQL. The bridge consumes, dead-letters and commits, and the worker's
reply activity publishes, all over SASL_SSL; clients without the right credentials or without
the stack's CA are refused.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from pydantic import SecretStr
from temporalio.client import Client

from deploy.kafka import KafkaBroker, default_libs_dir
from deploy.kafka_security import prepare_sasl_ssl
from deploy.processes import free_port, stop_process_group
from tests.hostile.checks import new_member
from tests.integration.conftest import RunningApp, running_app
from tests.integration.test_bridge import wait_for, workflow_runs
from tests.kafka_helpers import contact_event, encoded, produce
from workers.app.api import create_app
from workers.platform.employees import add_employee
from workers.platform.kafka_client import connection_options
from workers.platform.kafka_reader import read_topic
from workers.platform.settings import KafkaSettings, Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def secure_kafka() -> Iterator[KafkaSettings]:
    """A SASL_SSL-only broker; settings of a client that has the stack's CA and password."""
    home = Path(tempfile.mkdtemp(prefix="memberflow-kafka-sasl-"))
    security = prepare_sasl_ssl(home / "security")
    broker = KafkaBroker(
        home=home,
        port=free_port(),
        controller_port=free_port(),
        libs_dir=default_libs_dir(),
        security=security,
    )
    pid = broker.start()
    try:
        env = security.client_env() | {
            "MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker.port}"
        }
        yield KafkaSettings.model_validate(
            {key.removeprefix("MEMBERFLOW_KAFKA_").lower(): value for key, value in env.items()}
        )
    finally:
        stop_process_group(pid)
        shutil.rmtree(home, ignore_errors=True)


@pytest_asyncio.fixture(loop_scope="session")
async def secure_app(
    base_settings: Settings, postgres_url: str, secure_kafka: KafkaSettings
) -> AsyncIterator[RunningApp]:
    """Worker and bridge whose every Kafka client goes through SASL_SSL."""
    settings = base_settings.model_copy(update={"kafka": secure_kafka})
    async with running_app(settings, postgres_url=postgres_url) as app:
        yield app


async def test_bridge_starts_workflows_and_dead_letters_over_sasl_ssl(
    secure_app: RunningApp, temporal_client: Client
) -> None:
    kafka, topics = secure_app.settings.kafka, secure_app.topics
    good = contact_event(member_id=new_member(), department=None)
    await produce(kafka, topics.contact_requests, [(b"k", b"{not json"), (b"k", encoded(good))])

    runs = await wait_for(
        lambda: workflow_runs(temporal_client, good["data"]["request_id"]), what="workflow"
    )
    assert len(runs) == 1
    dead = await read_topic(kafka, topics.dlq(topics.contact_requests), count=1, timeout=30)
    assert [record.value for record in dead] == [b"{not json"]
    assert "not JSON" in dead[0].headers["x-error"]


async def test_a_reply_is_published_to_member_messages_over_sasl_ssl(
    secure_app: RunningApp,
) -> None:
    kafka, topics = secure_app.settings.kafka, secure_app.topics
    member = new_member()
    event = contact_event(member_id=member, department=None)
    request_id = event["data"]["request_id"]
    employee = f"KS{random.getrandbits(24):06x}"
    token = await add_employee(secure_app.services.session_factory, employee, "Kim", "employee")
    transport = httpx.ASGITransport(app=create_app(secure_app.services))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://desk/api/v1",
        headers={"Authorization": f"Bearer {token}"},
    ) as desk:
        await produce(kafka, topics.contact_requests, [(member.encode(), encoded(event))])

        async def listed() -> bool:
            return (await desk.get(f"/contact-requests/{request_id}")).status_code == 200

        await wait_for(listed, what="request listed")
        answer = await desk.post(
            f"/contact-requests/{request_id}/reply", json={"body": "We paid it off."}
        )
        assert answer.status_code == 200, answer.text

    out = await read_topic(kafka, topics.member_messages, count=1, timeout=30)
    assert [record.key for record in out] == [member.encode()]
    assert json.loads(out[0].value)["data"]["request_id"] == request_id


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("plaintext", "closed"),
        ("wrong-password", "SaslAuthenticationFailed"),
        ("unknown-user", "SaslAuthenticationFailed"),
        ("tls-without-sasl", "closed"),
        ("untrusted-ca", "CERTIFICATE_VERIFY_FAILED"),
    ],
)
async def test_a_client_without_the_credentials_or_the_ca_is_refused(
    secure_kafka: KafkaSettings, case: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    bootstrap = secure_kafka.bootstrap_servers
    cases = {
        "plaintext": KafkaSettings(bootstrap_servers=bootstrap),
        "wrong-password": secure_kafka.model_copy(update={"sasl_password": SecretStr("guess")}),
        "unknown-user": secure_kafka.model_copy(update={"sasl_username": "mallory"}),
        "tls-without-sasl": KafkaSettings(
            bootstrap_servers=bootstrap, security_protocol="SSL", ssl_cafile=secure_kafka.ssl_cafile
        ),
        # The system's trust store, not the stack's CA: the broker is not who it says.
        "untrusted-ca": secure_kafka.model_copy(update={"ssl_cafile": None}),
    }
    producer = AIOKafkaProducer(**connection_options(cases[case]))
    with caplog.at_level(logging.WARNING, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert reason in caplog.text
