"""Session fixtures: real servers for the integration and e2e tiers.

The servers start once per session, and only when a test asks for them. By default they are
local processes (``deploy.stack``) in a throwaway folder with free ports; set
``MEMBERFLOW_TEST_SERVERS=external`` to use the servers named by ``MEMBERFLOW_*`` variables, or
``MEMBERFLOW_TEST_SERVERS=containers`` to start them with testcontainers where Docker exists.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import Client

from contracts.platform.topics import Topics
from deploy.stack import throwaway_stack
from tests.secrets import temporal_settings
from workers.platform.settings import DatabaseSettings, KafkaSettings, Settings
from workers.platform.temporal_client import connect

SERVERS = os.environ.get("MEMBERFLOW_TEST_SERVERS", "local")


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_cmdline_main(config: pytest.Config) -> Iterator[None]:
    """Exit straight away after a green run: the Temporal client's native threads can crash
    interpreter finalisation with exit 134 (sdk-python#300), which CI would read as a failure."""
    result = yield
    code = result.get_result()  # type: ignore[attr-defined]
    if code == 0 and not os.environ.get("PYTEST_XDIST_WORKER"):
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@pytest.fixture(scope="session")
def server_env() -> Iterator[dict[str, str]]:
    """``MEMBERFLOW_*`` variables naming the Kafka, Temporal and PostgreSQL for this session."""
    if SERVERS == "external":
        yield {k: v for k, v in os.environ.items() if k.startswith("MEMBERFLOW_")}
        return
    if SERVERS == "containers":
        from tests.containers import container_stack

        with container_stack() as env:
            yield env
        return
    with throwaway_stack() as env:
        yield env


@pytest.fixture(scope="session")
def base_settings(server_env: dict[str, str]) -> Settings:
    """Settings pointing at this session's servers."""
    return Settings(
        kafka=KafkaSettings(bootstrap_servers=server_env["MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS"]),
        temporal=temporal_settings(
            server_env, task_queue=f"memberflow-test-{uuid.uuid4().hex[:8]}"
        ),
        database=DatabaseSettings(url=server_env["MEMBERFLOW_DATABASE_URL"]),
    )


def unique_topics(prefix: str) -> Topics:
    """Topic names of their own for one test, so tests never read each other's records."""
    tag = uuid.uuid4().hex[:8]
    defaults = Topics()
    return Topics(
        **{name: f"{prefix}-{tag}.{value}" for name, value in defaults.model_dump().items()}
    )


@pytest.fixture(scope="session")
def postgres_url(server_env: dict[str, str]) -> str:
    """A database of its own for this session (migrations not applied)."""
    if SERVERS != "local":
        return server_env["MEMBERFLOW_DATABASE_URL"]
    url = server_env["MEMBERFLOW_DATABASE_URL"]
    name = f"mf_test_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        # The local stack's application role may create databases.
        connection = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return f"{url.rsplit('/', 1)[0]}/{name}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_client(base_settings: Settings) -> AsyncIterator[Client]:
    """A client of this session's Temporal server."""
    client = await connect(base_settings.temporal)
    yield client
