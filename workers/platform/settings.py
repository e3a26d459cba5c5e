"""Runtime settings, read from ``MEMBERFLOW_*`` environment variables.

Every default points at the local stack (``memberflow stack up``); any production Kafka, Temporal
or PostgreSQL is chosen by environment alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.platform.topics import Topics


class KafkaSettings(BaseSettings):
    """Kafka connection, including the SASL/TLS options a managed cluster needs."""

    model_config = SettingsConfigDict(env_prefix="MEMBERFLOW_KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:19092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    bridge_group_id: str = "memberflow-bridge"
    # Partitions for topics the project declares itself; more partitions than bridge workers
    # lets the bridge process different members concurrently while keeping per-member order.
    topic_partitions: int = 8
    bridge_max_workers: int = 8


class TemporalSettings(BaseSettings):
    """Temporal connection: a local dev server, a self-hosted cluster or Temporal Cloud."""

    model_config = SettingsConfigDict(env_prefix="MEMBERFLOW_TEMPORAL_", extra="ignore")

    address: str = "127.0.0.1:17233"
    namespace: str = "default"
    task_queue: str = "memberflow"
    tls: bool = False
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    tls_server_root_ca: Path | None = None
    api_key: SecretStr | None = None
    # host:port where the SDK's runtime serves Prometheus metrics (off unless set).
    metrics_bind: str | None = None


class DatabaseSettings(BaseSettings):
    """PostgreSQL: the system of record for Trackers, secure messages and tier results."""

    model_config = SettingsConfigDict(env_prefix="MEMBERFLOW_DATABASE_", extra="ignore")

    url: str = "postgresql+asyncpg://memberflow@127.0.0.1:15432/memberflow"
    pool_size: int = 10
    # A database that is down, or stopped without closing its sockets, must answer "unavailable"
    # in bounded time instead of holding an activity or a desk call open for ever.
    # MEMBERFLOW_DATABASE_CONNECT_TIMEOUT_SECONDS bounds opening a connection;
    # MEMBERFLOW_DATABASE_STATEMENT_TIMEOUT_SECONDS bounds each statement (a tier run's COPY of
    # a whole shard included, hence its generous default).
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    statement_timeout_seconds: float = Field(default=300.0, gt=0, le=3600)


class Settings(BaseSettings):
    """All memberflow settings; nested groups read their own prefixes."""

    model_config = SettingsConfigDict(
        env_prefix="MEMBERFLOW_", env_nested_delimiter="__", extra="ignore"
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    topics: Topics = Field(default_factory=Topics)
    state_dir: Path = Path(".state")
    config_file: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # How long the desk API waits for a workflow to answer an Update (claim, reply, complete,
    # ...) before it answers 504: a stopped worker or a database outage must not hold an
    # employee's request open for ever. MEMBERFLOW_API_UPDATE_TIMEOUT_SECONDS.
    api_update_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # How long SIGTERM/SIGINT leaves in-flight work to finish before it is cut short: bridge
    # records being started, worker activities, API requests. One bound for all three parts,
    # so an orchestrator's kill timeout is set once, above it. MEMBERFLOW_SHUTDOWN_GRACE_SECONDS.
    shutdown_grace_seconds: float = Field(default=15.0, gt=0, le=600)
    tier_extract_root: Path = Path(".state/extracts")
    tier_program: Path | None = None
    log_level: str = "INFO"
    # Prometheus endpoint of the bridge's Kafka metrics (off unless set). The Temporal SDK's
    # worker and client metrics have their own endpoint: MEMBERFLOW_TEMPORAL_METRICS_BIND.
    metrics_port: int | None = None

    def describe(self) -> str:
        """A one-line summary without secrets, for start-up logs."""
        return json.dumps(
            {
                "kafka": self.kafka.bootstrap_servers,
                "temporal": f"{self.temporal.address}/{self.temporal.namespace}",
                "database": self.database.url.split("@")[-1],
            }
        )
