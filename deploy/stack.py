"""The local stack: Kafka, Temporal (with its Web UI) and PostgreSQL as real processes.

State (ports, pids, start times) is kept in ``<state_dir>/stack.json`` so ``status`` and
``down`` work from any later process, and applications find the servers without configuration.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deploy.kafka import KafkaBroker, check_security_switch, default_libs_dir, ensure_jars
from deploy.kafka_security import KafkaSecurity, KafkaSecurityMode, prepare_sasl_ssl
from deploy.postgres import PostgresCluster
from deploy.processes import free_port, pid_alive, port_open, rss_bytes, spawn, wait_until
from deploy.processes import stop_process_group as _stop_group
from deploy.secrets import (
    PAYLOAD_KEYS_FILE,
    SEARCH_HASH_KEY_FILE,
    ensure_payload_keys,
    ensure_search_hash_key,
)
from deploy.temporal import TemporalDevServer, venv_binary

STATE_FILE = "stack.json"
DEFAULT_PORTS = {
    "kafka": 19092,
    "temporal": 17233,
    "temporal-ui": 18233,
    "codec-server": 18234,
    "postgres": 15432,
}


@dataclass
class ServerState:
    """What ``status`` reports about one server."""

    name: str
    host: str
    port: int
    pid: int
    start_seconds: float
    log: str

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"


@dataclass
class StackState:
    """Every server of one local stack."""

    state_dir: str
    servers: dict[str, ServerState] = field(default_factory=dict)
    kafka_controller_port: int = 0
    # The port the Web UI was told to find the codec server on (``--ui-codec-endpoint``);
    # ``memberflow stack up`` starts the codec server there (0: no UI, no codec server).
    codec_port: int = 0
    # ``stack up --kafka-security``: kept so that a later ``up`` (a restart) keeps it.
    kafka_security: KafkaSecurityMode = "plaintext"

    def env(self) -> dict[str, str]:
        """``MEMBERFLOW_*`` variables that point the applications at this stack."""
        env: dict[str, str] = {}
        if "kafka" in self.servers:
            env["MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS"] = self.servers["kafka"].address
            if self.kafka_security == "sasl_ssl":
                env |= kafka_security_files(Path(self.state_dir)).client_env()
        if "temporal" in self.servers:
            env["MEMBERFLOW_TEMPORAL_ADDRESS"] = self.servers["temporal"].address
        if "postgres" in self.servers:
            pg = self.servers["postgres"]
            env["MEMBERFLOW_DATABASE_URL"] = (
                f"postgresql+asyncpg://memberflow@{pg.host}:{pg.port}/memberflow"
            )
        # The stack's generated secrets (deploy/secrets.py), by path: never their content.
        home = Path(self.state_dir)
        if (home / PAYLOAD_KEYS_FILE).exists():
            env["MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE"] = str(home / PAYLOAD_KEYS_FILE)
        if (home / SEARCH_HASH_KEY_FILE).exists():
            env["MEMBERFLOW_TEMPORAL_SEARCH_HASH_KEY_FILE"] = str(home / SEARCH_HASH_KEY_FILE)
        if self.codec_port:
            env["MEMBERFLOW_CODEC_PORT"] = str(self.codec_port)
            if "temporal-ui" in self.servers:
                env["MEMBERFLOW_CODEC_CORS_ORIGINS"] = _ui_origins(self.servers["temporal-ui"])
        return env


def kafka_security_files(state_dir: Path) -> KafkaSecurity:
    """Where a stack's Kafka certificates and SASL password live (``deploy.kafka_security``)."""
    return KafkaSecurity(state_dir / "kafka" / "security")


def _ui_origins(ui: ServerState) -> str:
    """The browser origins of the stack's Web UI (the codec server's CORS allow-list)."""
    return f"http://{ui.host}:{ui.port},http://localhost:{ui.port}"


def _choose_port(preferred: int | None) -> int:
    if preferred and not port_open("127.0.0.1", preferred):
        return preferred
    return free_port()


def load_state(state_dir: Path) -> StackState | None:
    """The recorded stack in ``state_dir``, or None."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    raw: dict[str, Any] = json.loads(path.read_text())
    servers = {name: ServerState(**s) for name, s in raw.get("servers", {}).items()}
    return StackState(
        state_dir=raw["state_dir"],
        servers=servers,
        kafka_controller_port=raw.get("kafka_controller_port", 0),
        codec_port=raw.get("codec_port", 0),
        kafka_security=raw.get("kafka_security", "plaintext"),
    )


def _save_state(state: StackState) -> None:
    path = Path(state.state_dir) / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    tmp.replace(path)


class LocalStack:
    """Starts and stops the three servers; usable from the CLI and from test fixtures."""

    def __init__(
        self,
        state_dir: Path,
        *,
        ui: bool = True,
        persistent_temporal: bool = True,
        ports: dict[str, int] | None = None,
        kafka_security: KafkaSecurityMode | None = None,
    ) -> None:
        self.state_dir = state_dir.resolve()
        self.ui = ui
        # None: what the stack was last started with (plaintext for a new one).
        self.kafka_security = kafka_security
        self.persistent_temporal = persistent_temporal
        self.ports = DEFAULT_PORTS | (ports or {})

    def _postgres(self, port: int) -> PostgresCluster:
        return PostgresCluster(home=self.state_dir / "postgres", port=port)

    def up(self) -> StackState:
        """Start whatever is not running yet; return the running stack.

        Servers already recorded and alive are left alone, so ``up`` is idempotent.
        """
        state = load_state(self.state_dir) or StackState(state_dir=str(self.state_dir))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Written once: a later ``up`` must keep the keys existing histories were sealed with.
        ensure_payload_keys(self.state_dir / PAYLOAD_KEYS_FILE)
        ensure_search_hash_key(self.state_dir / SEARCH_HASH_KEY_FILE)
        try:
            self._up_postgres(state)
            self._up_temporal(state)
            self._up_kafka(state)
            self._up_codec_server(state)
        finally:
            _save_state(state)
        return state

    def _alive(self, state: StackState, name: str) -> bool:
        server = state.servers.get(name)
        return bool(server and pid_alive(server.pid) and port_open(server.host, server.port))

    def _up_postgres(self, state: StackState) -> None:
        if self._alive(state, "postgres"):
            return
        recorded = state.servers.get("postgres")
        port = recorded.port if recorded else _choose_port(self.ports["postgres"])
        cluster = self._postgres(port)
        started = time.monotonic()
        pid = cluster.start()
        state.servers["postgres"] = ServerState(
            "postgres", cluster.host, port, pid, time.monotonic() - started, str(cluster.log_file)
        )

    def _up_temporal(self, state: StackState) -> None:
        if self._alive(state, "temporal"):
            return
        port = _choose_port(self.ports["temporal"])
        ui_port = _choose_port(self.ports["temporal-ui"]) if self.ui else None
        # The UI learns the codec server's address at start, so its port is fixed here.
        # A codec server still running keeps its port, so the UI and it agree.
        if not self.ui:
            state.codec_port = 0
        elif not self._alive(state, "codec-server"):
            state.codec_port = _choose_port(self.ports["codec-server"])
        server = TemporalDevServer(
            home=self.state_dir / "temporal",
            port=port,
            ui_port=ui_port,
            persistent=self.persistent_temporal,
            codec_endpoint=f"http://127.0.0.1:{state.codec_port}" if state.codec_port else None,
        )
        started = time.monotonic()
        pid = server.start()
        elapsed = time.monotonic() - started
        log = str(server.log_file)
        state.servers["temporal"] = ServerState("temporal", server.host, port, pid, elapsed, log)
        if ui_port is not None:
            state.servers["temporal-ui"] = ServerState(
                "temporal-ui", server.host, ui_port, pid, elapsed, log
            )
        else:
            state.servers.pop("temporal-ui", None)

    def _up_kafka(self, state: StackState) -> None:
        wanted = self.kafka_security or state.kafka_security
        files = kafka_security_files(self.state_dir)
        if self._alive(state, "kafka"):
            if wanted == state.kafka_security:
                return
            # Asked for the other security: the broker restarts with the other listener (unless
            # its data cannot take it, which is said before anything is stopped).
            check_security_switch(self.state_dir / "kafka", files if wanted == "sasl_ssl" else None)
            _stop_group(state.servers.pop("kafka").pid)
        # Certificates are renewed only here, as the broker starts: clients and broker agree.
        security = prepare_sasl_ssl(files.folder) if wanted == "sasl_ssl" else None
        libs = default_libs_dir()
        ensure_jars(libs)  # fetched before timing: the start time is the broker's alone
        port = _choose_port(self.ports["kafka"])
        controller = state.kafka_controller_port
        if not controller or port_open("127.0.0.1", controller):
            controller = free_port()
        broker = KafkaBroker(
            home=self.state_dir / "kafka",
            port=port,
            controller_port=controller,
            libs_dir=libs,
            security=security,
        )
        started = time.monotonic()
        pid = broker.start()
        state.kafka_controller_port = controller
        state.kafka_security = wanted  # recorded once the broker runs with it
        state.servers["kafka"] = ServerState(
            "kafka", broker.host, port, pid, time.monotonic() - started, str(broker.log_file)
        )

    def _up_codec_server(self, state: StackState) -> None:
        """``memberflow run codec-server`` on the port the Web UI was given (UI stacks only)."""
        if not state.codec_port or self._alive(state, "codec-server"):
            return
        log_file = self.state_dir / "codec-server" / "codec-server.log"
        started = time.monotonic()
        env = state.env() | {"MEMBERFLOW_STATE_DIR": str(self.state_dir)}
        pid = spawn([venv_binary("memberflow"), "run", "codec-server"], log_file, env=env)
        wait_until(
            lambda: port_open("127.0.0.1", state.codec_port),
            timeout=60,
            what="codec-server",
            alive=lambda: pid_alive(pid),
            log_file=log_file,
        )
        state.servers["codec-server"] = ServerState(
            "codec-server",
            "127.0.0.1",
            state.codec_port,
            pid,
            time.monotonic() - started,
            str(log_file),
        )

    def down(self, *, purge: bool = False) -> list[str]:
        """Stop every recorded server; with ``purge`` also delete their data.

        Returns:
            Names of the servers that were stopped.
        """
        state = load_state(self.state_dir)
        stopped: list[str] = []
        if state is not None:
            for name in ("codec-server", "kafka", "temporal"):
                server = state.servers.get(name)
                if server and pid_alive(server.pid):
                    _stop_group(server.pid)
                    stopped.append(name)
            postgres = state.servers.get("postgres")
            if postgres:
                cluster = self._postgres(postgres.port)
                if cluster.pid() and pid_alive(cluster.pid()):
                    cluster.stop()
                    stopped.append("postgres")
            state.servers.clear()
            _save_state(state)
        if purge and self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return stopped

    def status(self) -> list[dict[str, Any]]:
        """One entry per recorded server: name, address, running, pid, memory."""
        state = load_state(self.state_dir)
        rows: list[dict[str, Any]] = []
        if state is None:
            return rows
        for name in ("kafka", "temporal", "temporal-ui", "codec-server", "postgres"):
            server = state.servers.get(name)
            if server is None:
                continue
            running = pid_alive(server.pid) and port_open(server.host, server.port)
            rows.append(
                {
                    "name": name,
                    "address": server.address,
                    "running": running,
                    "pid": server.pid,
                    "rss_mb": round(rss_bytes(server.pid) / 2**20, 1) if running else 0.0,
                    "start_seconds": round(server.start_seconds, 2),
                    "log": server.log,
                }
            )
            if name == "kafka":
                # What a Kafka client needs besides the address (the SASL password by path).
                kafka_env = {k: v for k, v in state.env().items() if "_KAFKA_" in k}
                rows[-1] |= {"security": state.kafka_security, "env": kafka_env}
        return rows


@contextmanager
def throwaway_stack(kafka_security: KafkaSecurityMode = "plaintext") -> Iterator[dict[str, str]]:
    """A headless, in-memory stack on free ports in a temporary folder, removed afterwards.

    ``kafka_security="sasl_ssl"``: Kafka with SASL/SCRAM over TLS (``deploy.kafka_security``).

    Yields:
        The ``MEMBERFLOW_*`` variables pointing at it.
    """
    state_dir = Path(tempfile.mkdtemp(prefix="memberflow-"))
    stack = LocalStack(
        state_dir,
        ui=False,
        persistent_temporal=False,
        ports=dict.fromkeys(DEFAULT_PORTS, 0),
        kafka_security=kafka_security,
    )
    try:
        yield stack.up().env()
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)


def stack_env(state_dir: Path) -> dict[str, str]:
    """Environment pointing at a recorded local stack (empty when there is none)."""
    state = load_state(state_dir.resolve())
    return state.env() if state else {}


def apply_stack_env(state_dir: Path) -> None:
    """Default ``MEMBERFLOW_*`` variables from a recorded stack; explicit ones win."""
    for key, value in stack_env(state_dir).items():
        os.environ.setdefault(key, value)
