"""The integration tier on testcontainers, for machines with a Docker engine.

Chosen with ``MEMBERFLOW_TEST_SERVERS=containers``. Containers are built inside the context
manager only, never at import time: building one without a Docker engine raises at once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from contracts.platform.search_attributes import SEARCH_ATTRIBUTES
from deploy.secrets import ensure_payload_keys, ensure_search_hash_key

TEMPORAL_IMAGE = "temporalio/temporal:1.5.0"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
POSTGRES_IMAGE = "postgres:15"


@contextmanager
def container_stack() -> Iterator[dict[str, str]]:
    """Kafka, Temporal and PostgreSQL containers; yields the ``MEMBERFLOW_*`` variables."""
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import PortWaitStrategy
    from testcontainers.postgres import PostgresContainer

    search_attributes = " ".join(
        f"--search-attribute {name}={kind}" for name, kind in SEARCH_ATTRIBUTES.items()
    )
    with ExitStack() as stack:
        kafka = stack.enter_context(KafkaContainer(KAFKA_IMAGE).with_kraft())
        postgres = stack.enter_context(
            PostgresContainer(POSTGRES_IMAGE, username="memberflow", password="memberflow")
        )
        temporal = stack.enter_context(
            DockerContainer(TEMPORAL_IMAGE)
            .with_command(f"server start-dev --ip 0.0.0.0 {search_attributes}")
            .with_exposed_ports(7233)
            .waiting_for(PortWaitStrategy(7233))
        )
        pg_host = postgres.get_container_host_ip()
        pg_port = postgres.get_exposed_port(5432)
        # Key files as the local stack writes them, for the processes the tests start.
        keys = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="memberflow-keys-")))
        yield {
            "MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE": str(
                ensure_payload_keys(keys / "payload-keys")
            ),
            "MEMBERFLOW_TEMPORAL_SEARCH_HASH_KEY_FILE": str(
                ensure_search_hash_key(keys / "search-hash-key")
            ),
            "MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS": kafka.get_bootstrap_server(),
            "MEMBERFLOW_TEMPORAL_ADDRESS": (
                f"{temporal.get_container_host_ip()}:{temporal.get_exposed_port(7233)}"
            ),
            "MEMBERFLOW_DATABASE_URL": (
                f"postgresql+asyncpg://memberflow:memberflow@{pg_host}:{pg_port}/test"
            ),
        }
