"""The local stack: real servers up, reachable, reported, and gone after ``down``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from contracts.platform.search_attributes import SEARCH_ATTRIBUTES
from deploy.processes import pid_alive, port_open, stop_process_group
from workers.platform.kafka_client import connection_options
from workers.platform.settings import KafkaSettings

pytestmark = pytest.mark.integration
async_test = pytest.mark.asyncio(loop_scope="session")


@async_test
async def test_kafka_answers_a_metadata_round_trip(server_env: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=server_env["MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS"])
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        assert len(cluster["brokers"]) == 1
    finally:
        await admin.close()


@async_test
async def test_temporal_has_the_search_attributes(temporal_client: Client) -> None:
    response = await temporal_client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=temporal_client.namespace)
    )
    for name in SEARCH_ATTRIBUTES:
        assert name in response.custom_attributes


@async_test
async def test_postgres_accepts_the_application_role(server_env: dict[str, str]) -> None:
    url = server_env["MEMBERFLOW_DATABASE_URL"].replace("+asyncpg", "")
    connection = await asyncpg.connect(url)
    try:
        assert await connection.fetchval("SELECT current_user") == "memberflow"
        # A killed server keeps what it acknowledged (docs/operations.md, "Local stack").
        assert await connection.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await connection.close()


def _cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEMBERFLOW_STATE_DIR": str(state_dir)}
    memberflow = Path(sys.executable).parent / "memberflow"
    return subprocess.run(
        [str(memberflow), *args], env=env, capture_output=True, text=True, timeout=240, check=False
    )


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A state folder outside pytest's own temporary root.

    PostgreSQL runs as its own user, who must reach its data folder: the stack gives every
    parent folder o+x, but pytest sets its root (``/tmp/pytest-of-root``) back to 0700 whenever
    another pytest session starts, and the server could then not be stopped.
    """
    folder = Path(tempfile.mkdtemp(prefix="memberflow-stack-test-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_cli_stack_up_status_down_leaves_nothing_behind(state_dir: Path) -> None:
    up = _cli(state_dir, "stack", "up", "--headless")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        status = _cli(state_dir, "stack", "status")
        lines = status.stdout.strip().splitlines()
        assert [line.split()[0] for line in lines] == ["kafka", "temporal", "postgres"]
        for line in lines:
            assert line.split()[1].startswith("127.0.0.1:")
            assert "running" in line
        as_json = json.loads(_cli(state_dir, "stack", "status", "--json").stdout)
        pids = [row["pid"] for row in as_json.values()]
        addresses = [row["address"] for row in as_json.values()]
    finally:
        down = _cli(state_dir, "stack", "down")
    assert down.returncode == 0, down.stdout + down.stderr
    for pid in pids:
        assert not pid_alive(pid), f"pid {pid} still running after stack down"
    for address in addresses:
        host, port = address.split(":")
        assert not port_open(host, int(port))


def _kafka_settings(env: dict[str, str]) -> KafkaSettings:
    return KafkaSettings.model_validate(
        {key.removeprefix("MEMBERFLOW_KAFKA_").lower(): value for key, value in env.items()}
    )


async def _topics(settings: KafkaSettings) -> list[str]:
    admin = AIOKafkaAdminClient(**connection_options(settings))
    await admin.start()
    try:
        topics: list[str] = await admin.list_topics()
        return topics
    finally:
        await admin.close()


def test_cli_stack_up_with_sasl_ssl_hands_clients_the_files_and_keeps_it_on_restart(
    state_dir: Path,
) -> None:
    up = _cli(state_dir, "stack", "up", "--headless", "--kafka-security", "sasl_ssl")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        kafka = json.loads(_cli(state_dir, "stack", "status", "--json").stdout)["kafka"]
        assert kafka["security"] == "sasl_ssl"
        env = kafka["env"]
        assert env["MEMBERFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["MEMBERFLOW_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        password_file = Path(env["MEMBERFLOW_KAFKA_SASL_PASSWORD_FILE"])
        keystore = Path(env["MEMBERFLOW_KAFKA_SSL_CAFILE"]).with_name("broker.pem")
        for secret in (password_file, keystore, state_dir / "kafka" / "server.properties"):
            assert secret.stat().st_mode & 0o777 == 0o600, secret
        # Printed by path only: the password itself is in no output.
        assert password_file.read_text().strip() not in up.stdout + up.stderr
        # `stack up` created the topics through the SASL_SSL listener.
        assert "contact-requests.v1" in asyncio.run(_topics(_kafka_settings(env)))

        # Kafka dies; a plain `stack up` brings it back with the security it had.
        stop_process_group(kafka["pid"])
        again = _cli(state_dir, "stack", "up", "--headless")
        assert again.returncode == 0, again.stdout + again.stderr
        restarted = json.loads(_cli(state_dir, "stack", "status", "--json").stdout)["kafka"]
        assert restarted["pid"] != kafka["pid"]
        assert restarted["security"] == "sasl_ssl"
        assert restarted["env"] == env | {
            "MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS": restarted["address"]
        }
        assert "contact-requests.v1" in asyncio.run(_topics(_kafka_settings(restarted["env"])))
    finally:
        down = _cli(state_dir, "stack", "down")
    assert down.returncode == 0, down.stdout + down.stderr
