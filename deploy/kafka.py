"""One Apache Kafka broker (KRaft, broker + controller) from the Maven Central jars."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.kafka_security import LISTENER, KafkaSecurity, write_private_text
from deploy.processes import StackError, pid_alive, port_open, spawn, wait_until

DEPLOY_DIR = Path(__file__).resolve().parent
POM = DEPLOY_DIR / "kafka" / "pom.xml"
LOG4J_CONFIG = DEPLOY_DIR / "kafka" / "log4j2.yaml"


def default_libs_dir() -> Path:
    """Where the broker jars live: ``MEMBERFLOW_KAFKA_LIBS`` or ``.cache/kafka/libs``."""
    configured = os.environ.get("MEMBERFLOW_KAFKA_LIBS")
    return Path(configured) if configured else DEPLOY_DIR.parent / ".cache" / "kafka" / "libs"


def ensure_jars(libs_dir: Path) -> bool:
    """Fetch the broker runtime with Maven unless it is already there.

    Returns:
        True when jars were fetched now, False when they were already present.
    """
    if any(libs_dir.glob("kafka_2.13-*.jar")):
        return False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (mvn) is needed to fetch the Kafka broker: apt-get install maven")
    libs_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            f"-Dkafka.libs={libs_dir}",
            "dependency:copy-dependencies",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not any(libs_dir.glob("kafka_2.13-*.jar")):
        raise StackError(f"fetching the Kafka jars failed:\n{result.stdout}\n{result.stderr}")
    return True


SCRAM_MARKER = "scram-user-formatted"
"""Written next to the data when the storage was formatted with the SASL_SSL user."""


def check_security_switch(home: Path, security: KafkaSecurity | None) -> None:
    """Refuse SASL_SSL on data formatted for plaintext: its metadata holds no SCRAM user.

    Raises:
        StackError: ``home`` holds a formatted cluster without the user.
    """
    formatted = (home / "data" / "meta.properties").exists()
    if security and formatted and not (home / SCRAM_MARKER).exists():
        raise StackError(
            f"Kafka's data in {home} was made for plaintext and has no SASL user; to switch to "
            f"sasl_ssl remove {home} (its topics and records go with it) and run stack up again"
        )


def new_cluster_id() -> str:
    """22 chars of base64url over 16 random bytes, never starting with '-' (the CLI misreads it)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass
class KafkaBroker:
    """A single-node KRaft broker whose data, config and log live in ``home``."""

    home: Path
    port: int
    controller_port: int
    libs_dir: Path
    host: str = "127.0.0.1"
    heap: str = "512m"
    security: KafkaSecurity | None = None
    """SASL/SCRAM over TLS on the client listener (``deploy.kafka_security``); None: plaintext.
    The controller listener stays plaintext, on the loopback address only."""

    @property
    def log_file(self) -> Path:
        """The broker's console log."""
        return self.home / "kafka.log"

    def _config(self) -> Path:
        config = self.home / "server.properties"
        client = LISTENER if self.security else "PLAINTEXT"
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": (
                f"{client}://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}"
            ),
            "advertised.listeners": f"{client}://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": client,
            "listener.security.protocol.map": f"{client}:{client},CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.home / "data"),
            "num.partitions": "8",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.cleaner.dedupe.buffer.size": "2097152",
            "auto.create.topics.enable": "true",
        }
        if self.security:
            settings |= self.security.broker_properties()
        # Owner-only: with SASL_SSL it holds the broker's own SCRAM password.
        write_private_text(config, "".join(f"{k}={v}\n" for k, v in settings.items()))
        return config

    def _java(self, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise StackError(
                "Java 17 is needed to run Kafka: apt-get install openjdk-17-jre-headless"
            )
        return [
            java,
            f"-Xmx{self.heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp",
            f"{self.libs_dir}/*",
            *args,
        ]

    def start(self) -> int:
        """Format storage on first use, start the broker and wait until it serves clients."""
        ensure_jars(self.libs_dir)
        check_security_switch(self.home, self.security)
        self.home.mkdir(parents=True, exist_ok=True)
        config = self._config()
        if not (self.home / "data" / "meta.properties").exists():
            # A SASL_SSL broker's user is written into the new cluster's metadata here.
            scram = self.security.format_arguments() if self.security else []
            formatted = subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    new_cluster_id(),
                    "-c",
                    str(config),
                    *scram,
                ),
                capture_output=True,
                text=True,
                check=False,
            )
            if formatted.returncode != 0:
                raise StackError(
                    f"kafka storage format failed:\n{formatted.stdout}{formatted.stderr}"
                )
            if scram:
                (self.home / SCRAM_MARKER).touch()
        pid = spawn(self._java("kafka.Kafka", str(config)), self.log_file)
        # The broker opens its client port only once it can serve, so a TCP connect is a
        # sound readiness check (docs/operations.md, 'Local stack').
        wait_until(
            lambda: port_open(self.host, self.port),
            timeout=90,
            what="kafka",
            alive=lambda: pid_alive(pid),
            log_file=self.log_file,
        )
        return pid
