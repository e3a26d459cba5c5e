"""The stack under test: Kafka, Temporal (SQLite store kept on disk) and PostgreSQL, killable.

``deploy.stack.throwaway_stack`` runs Temporal in memory, so a Temporal restart would forget
every workflow; here the same ``LocalStack`` runs with ``persistent_temporal=True`` in a
temporary folder. After the first start every server's port is pinned, so ``LocalStack.up``
brings a killed server back on the address the clients already know.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from deploy.processes import pid_alive
from deploy.stack import DEFAULT_PORTS, LocalStack, StackState, load_state

SERVERS = ("kafka", "temporal", "postgres")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (PostgreSQL's backends each run in their own group)."""
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        children = Path(f"/proc/{current}/task/{current}/children")
        with contextlib.suppress(OSError, ValueError):
            found.extend(int(child) for child in children.read_text().split())
    return found


def gone(pid: int) -> bool:
    """True once no process (not even a zombie) holds ``pid``.

    PostgreSQL refuses to start while the pid in its lock file answers ``kill(pid, 0)``, which a
    zombie still does; ``pid_alive`` reaps our own children first.
    """
    if pid_alive(pid):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def signal_all(pids: list[int], signum: signal.Signals) -> None:
    """Send ``signum`` to each pid that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def wait_gone(pids: list[int], timeout: float = 30.0) -> bool:
    """Wait (blocking) until every pid is gone; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(gone(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


class FaultStack:
    """One persistent local stack in a temporary folder; every method is blocking."""

    def __init__(self) -> None:
        self.state_dir = Path(tempfile.mkdtemp(prefix="memberflow-faults-"))
        self._stack = LocalStack(
            self.state_dir,
            ui=False,
            persistent_temporal=True,
            ports=dict.fromkeys(DEFAULT_PORTS, 0),
        )
        # Pids currently SIGSTOPped, so ``down`` can continue them (a stopped process ignores
        # SIGTERM, and pg_ctl would wait for ever).
        self._stopped: set[int] = set()

    def up(self) -> dict[str, str]:
        """Start every server; return the ``MEMBERFLOW_*`` variables pointing at them."""
        state = self._stack.up()
        # Pin the chosen ports: a restarted server must come back where its clients look.
        ports = {name: server.port for name, server in state.servers.items()}
        self._stack = LocalStack(self.state_dir, ui=False, persistent_temporal=True, ports=ports)
        return state.env()

    def state(self) -> StackState:
        """The recorded stack (pids change on every restart)."""
        state = load_state(self.state_dir)
        if state is None:
            raise RuntimeError("the fault stack has no recorded state")
        return state

    def server_pids(self, name: str) -> list[int]:
        """The server's main process and everything below it."""
        server = self.state().servers.get(name)
        return descendants(server.pid) if server else []

    def kill(self, name: str) -> None:
        """SIGKILL the whole server, as a crash or the OOM killer would, and wait until gone."""
        pids = self.server_pids(name)
        signal_all(pids, signal.SIGKILL)
        if not wait_gone(pids):
            raise RuntimeError(f"{name} did not exit after SIGKILL")

    def restart(self) -> None:
        """Start whatever is not running, on its recorded port (with its data)."""
        self._stack.up()

    def stop(self, name: str) -> None:
        """SIGSTOP every process of the server: connections stay open, nothing answers."""
        pids = self.server_pids(name)
        self._stopped.update(pids)
        signal_all(pids, signal.SIGSTOP)

    def cont(self, name: str) -> None:
        """SIGCONT what ``stop`` stopped."""
        pids = self.server_pids(name)
        signal_all(pids, signal.SIGCONT)
        self._stopped.difference_update(pids)

    def running(self) -> dict[str, bool]:
        """Whether each server's recorded process exists."""
        state = load_state(self.state_dir)
        servers = state.servers if state else {}
        return {name: bool(name in servers and pid_alive(servers[name].pid)) for name in SERVERS}

    def log_files(self) -> dict[str, Path]:
        """Each server's log file."""
        state = load_state(self.state_dir)
        servers = state.servers if state else {}
        return {name: Path(server.log) for name, server in servers.items()}

    def down(self) -> list[int]:
        """Stop every server and delete the folder; return pids that are somehow still there."""
        signal_all(sorted(self._stopped), signal.SIGCONT)
        self._stopped.clear()
        pids = [pid for name in SERVERS for pid in self.server_pids(name)]
        try:
            self._stack.down()
        finally:
            leftovers = [pid for pid in pids if not wait_gone([pid], timeout=20.0)]
            signal_all(leftovers, signal.SIGKILL)
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return leftovers
