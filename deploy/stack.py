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

from deploy.kafka import KafkaBroker, default_libs_dir, ensure_jars
from deploy.postgres import PostgresCluster
from deploy.processes import free_port, pid_alive, port_open, rss_bytes
from deploy.processes import stop_process_group as _stop_group
from deploy.temporal import TemporalDevServer

STATE_FILE = "stack.json"
DEFAULT_PORTS = {"kafka": 19092, "temporal": 17233, "temporal-ui": 18233, "postgres": 15432}


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

    def env(self) -> dict[str, str]:
        """``MEMBERFLOW_*`` variables that point the applications at this stack."""
        env: dict[str, str] = {}
        if "kafka" in self.servers:
            env["MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS"] = self.servers["kafka"].address
        if "temporal" in self.servers:
            env["MEMBERFLOW_TEMPORAL_ADDRESS"] = self.servers["temporal"].address
        if "postgres" in self.servers:
            pg = self.servers["postgres"]
            env["MEMBERFLOW_DATABASE_URL"] = (
                f"postgresql+asyncpg://memberflow@{pg.host}:{pg.port}/memberflow"
            )
        return env


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
    ) -> None:
        self.state_dir = state_dir.resolve()
        self.ui = ui
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
        try:
            self._up_postgres(state)
            self._up_temporal(state)
            self._up_kafka(state)
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
        server = TemporalDevServer(
            home=self.state_dir / "temporal",
            port=port,
            ui_port=ui_port,
            persistent=self.persistent_temporal,
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
        if self._alive(state, "kafka"):
            return
        libs = default_libs_dir()
        ensure_jars(libs)  # fetched before timing: the start time is the broker's alone
        port = _choose_port(self.ports["kafka"])
        controller = state.kafka_controller_port
        if not controller or port_open("127.0.0.1", controller):
            controller = free_port()
        broker = KafkaBroker(
            home=self.state_dir / "kafka", port=port, controller_port=controller, libs_dir=libs
        )
        started = time.monotonic()
        pid = broker.start()
        state.kafka_controller_port = controller
        state.servers["kafka"] = ServerState(
            "kafka", broker.host, port, pid, time.monotonic() - started, str(broker.log_file)
        )

    def down(self, *, purge: bool = False) -> list[str]:
        """Stop every recorded server; with ``purge`` also delete their data.

        Returns:
            Names of the servers that were stopped.
        """
        state = load_state(self.state_dir)
        stopped: list[str] = []
        if state is not None:
            for name in ("kafka", "temporal"):
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
        for name in ("kafka", "temporal", "temporal-ui", "postgres"):
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
        return rows


@contextmanager
def throwaway_stack() -> Iterator[dict[str, str]]:
    """A headless, in-memory stack on free ports in a temporary folder, removed afterwards.

    Yields:
        The ``MEMBERFLOW_*`` variables pointing at it.
    """
    state_dir = Path(tempfile.mkdtemp(prefix="memberflow-"))
    stack = LocalStack(
        state_dir,
        ui=False,
        persistent_temporal=False,
        ports=dict.fromkeys(DEFAULT_PORTS, 0),
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
