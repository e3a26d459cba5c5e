"""Runtime settings, read from ``MEMBERFLOW_*`` environment variables.

Every default points at the local stack (``memberflow stack up``); any production Kafka, Temporal
or PostgreSQL is chosen by environment alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
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
    # The password in a file instead (the local stack's SASL_SSL broker hands it over this way,
    # so it is never printed or kept in stack.json); sasl_password wins when both are set.
    sasl_password_file: Path | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    bridge_group_id: str = "memberflow-bridge"
    # Partitions for topics the project declares itself; more partitions than bridge workers
    # lets the bridge process different members concurrently while keeping per-member order.
    topic_partitions: int = 8
    bridge_max_workers: int = 8

    @model_validator(mode="after")
    def _security_is_consistent(self) -> KafkaSettings:
        # The Kafka client silently ignores SASL options without a SASL protocol and TLS files
        # without a TLS one, so a half-set configuration would connect unauthenticated or in
        # clear: refuse it at start instead.
        problems: list[str] = []
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and self.sasl_mechanism is None:
            problems.append(f"{self.security_protocol} needs MEMBERFLOW_KAFKA_SASL_MECHANISM")
        if sasl and not self.sasl_username:
            problems.append(f"{self.security_protocol} needs MEMBERFLOW_KAFKA_SASL_USERNAME")
        if sasl and self.sasl_password is None and self.sasl_password_file is None:
            problems.append(
                f"{self.security_protocol} needs MEMBERFLOW_KAFKA_SASL_PASSWORD "
                "(or MEMBERFLOW_KAFKA_SASL_PASSWORD_FILE)"
            )
        if not sasl and self.sasl_mechanism is not None:
            problems.append(
                f"MEMBERFLOW_KAFKA_SASL_MECHANISM is set but {self.security_protocol} does not "
                "use SASL (SASL_SSL or SASL_PLAINTEXT)"
            )
        tls_files = [self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile]
        if not self.security_protocol.endswith("SSL") and any(tls_files):
            problems.append(
                f"MEMBERFLOW_KAFKA_SSL_* files are set but {self.security_protocol} does not use "
                "TLS (SSL or SASL_SSL)"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class TemporalSettings(BaseSettings):
    """Temporal connection: a local dev server, a self-hosted cluster or Temporal Cloud."""

    model_config = SettingsConfigDict(env_prefix="MEMBERFLOW_TEMPORAL_", extra="ignore")

    address: str = "127.0.0.1:17233"
    namespace: str = "default"
    task_queue: str = "memberflow"
    # MEMBERFLOW_TEMPORAL_TLS: unset means TLS exactly when an API key is set; false with an API
    # key, or certificates without true, is refused at connect (temporal_client.tls_config).
    tls: bool | None = None
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    tls_server_root_ca: Path | None = None
    api_key: SecretStr | None = None
    # host:port where the SDK's runtime serves Prometheus metrics (off unless set).
    metrics_bind: str | None = None
    # Payload encryption keys (docs/security.md): a file of ``key_id:base64key`` lines, newest
    # last (MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE), or the same lines comma-separated in
    # MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS. One of the two is required: nothing runs unencrypted.
    payload_keys_file: Path | None = None
    payload_keys: SecretStr | None = None
    # The HMAC key that turns a member id into the MemberKey search attribute, from a file
    # (MEMBERFLOW_TEMPORAL_SEARCH_HASH_KEY_FILE) or the environment (..._SEARCH_HASH_KEY).
    search_hash_key_file: Path | None = None
    search_hash_key: SecretStr | None = None


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
    # The largest request body the desk API reads; longer ones are answered 413 unread
    # (workers/platform/web/body_limit.py). The largest legitimate body is a reply: a
    # 4000-character body and a 4000-character follow-up note, at most 12 bytes a character as
    # JSON (a \uXXXX surrogate pair), about 96 KB with the other fields; 256 KiB leaves more
    # than twice that.
    # MEMBERFLOW_API_MAX_BODY_BYTES.
    api_max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 2**20)
    # How long SIGTERM/SIGINT leaves in-flight work to finish before it is cut short: bridge
    # records being started, worker activities, API requests. One bound for all three parts,
    # so an orchestrator's kill timeout is set once, above it. MEMBERFLOW_SHUTDOWN_GRACE_SECONDS.
    shutdown_grace_seconds: float = Field(default=15.0, gt=0, le=600)
    # How long a bearer token works after it is issued (a working day by default); an employee
    # gets a new one with `memberflow employees token ID`. MEMBERFLOW_TOKEN_LIFETIME_HOURS.
    token_lifetime_hours: float = Field(default=12.0, gt=0, le=24 * 366)
    # Failed authentications per client address: after `auth_failure_limit` failures within
    # `auth_failure_window_seconds` the address is answered 429 until the oldest failure leaves
    # the window. MEMBERFLOW_AUTH_FAILURE_LIMIT, MEMBERFLOW_AUTH_FAILURE_WINDOW_SECONDS.
    auth_failure_limit: int = Field(default=10, ge=1, le=10_000)
    auth_failure_window_seconds: float = Field(default=60.0, gt=0, le=86_400)
    # The monthly Schedule purging Tracker conversations past their type's retention
    # (types with allow_purge only; docs/operations.md, "Retention"). Off by default: the
    # worker then removes a Schedule an earlier start created.
    # MEMBERFLOW_TRACKER_RETENTION_SCHEDULE.
    tracker_retention_schedule: bool = False
    tier_extract_root: Path = Path(".state/extracts")
    tier_program: Path | None = None
    log_level: str = "INFO"
    # Prometheus endpoint of the bridge's Kafka metrics (off unless set). The Temporal SDK's
    # worker and client metrics have their own endpoint: MEMBERFLOW_TEMPORAL_METRICS_BIND.
    metrics_port: int | None = None
    # The codec server (``memberflow run codec-server``, docs/security.md): where it listens
    # (MEMBERFLOW_CODEC_PORT; the local stack records its own) and the browser origins allowed
    # to call it (MEMBERFLOW_CODEC_CORS_ORIGINS, comma-separated: the Temporal Web UI's).
    codec_port: int = 18234
    codec_cors_origins: str = "http://127.0.0.1:18233,http://localhost:18233"

    def describe(self) -> str:
        """A one-line summary without secrets, for start-up logs."""
        return json.dumps(
            {
                "kafka": self.kafka.bootstrap_servers,
                "temporal": f"{self.temporal.address}/{self.temporal.namespace}",
                "database": self.database.url.split("@")[-1],
            }
        )
