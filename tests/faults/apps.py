"""memberflow's own processes: ``memberflow run bridge|worker|api``, each in its own session.

The harness plays the role of a process supervisor (systemd, Kubernetes): a part it killed on
purpose is restarted by the fault; a part that exits on its own is restarted too, and counted,
because a process dying under a server fault is itself a finding.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from deploy.processes import port_open

Part = Literal["bridge", "worker", "api"]
PARTS: tuple[Part, ...] = ("worker", "bridge", "api")

# The log line each part writes once it serves (workers/app/runtime.py).
READY_LINE: dict[Part, str] = {
    "worker": "worker polling task queue",
    "bridge": "bridge consuming",
    "api": "memberflow starting",  # the API is ready when its port answers (checked as well)
}


def child_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without its ``MEMBERFLOW_*`` variables, plus ``env``.

    The harness names every server itself; a variable left in the calling shell (a topic
    override, another stack's address) must not point a part elsewhere.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERFLOW_")}
    return inherited | env


def memberflow_binary() -> str:
    """The ``memberflow`` console script of this interpreter's environment."""
    return str(Path(sys.executable).parent / "memberflow")


@dataclass
class Exit:
    """A part that exited without the harness asking: when, and its exit status."""

    part: Part
    at: float
    code: int | None


@dataclass
class AppProcesses:
    """The three parts, their environment and logs; every method is blocking."""

    env: dict[str, str]
    log_dir: Path
    api_port: int
    procs: dict[Part, subprocess.Popen[bytes]] = field(default_factory=dict)
    exits: list[Exit] = field(default_factory=list)
    # Parts a fault is killing and restarting right now: the supervisor leaves them alone.
    held: set[Part] = field(default_factory=set)

    def start(self, part: Part, timeout: float = 120.0) -> None:
        """Spawn one part and wait until it reports that it serves."""
        log_file = self.log_dir / f"{part}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        offset = log_file.stat().st_size if log_file.exists() else 0
        with log_file.open("ab") as log:
            self.procs[part] = subprocess.Popen(
                [memberflow_binary(), "run", part],
                env=child_env(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_ready(part, log_file, offset, timeout)

    def _wait_ready(self, part: Part, log_file: Path, offset: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        proc = self.procs[part]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"memberflow run {part} exited during start-up: {log_file}")
            if READY_LINE[part] in _read_from(log_file, offset) and (
                part != "api" or port_open("127.0.0.1", self.api_port)
            ):
                return
            time.sleep(0.1)
        raise RuntimeError(f"memberflow run {part} not ready after {timeout:.0f}s: {log_file}")

    def start_all(self) -> None:
        """Start the worker, the bridge and the API, in that order."""
        for part in PARTS:
            self.start(part)

    def kill(self, part: Part) -> None:
        """SIGKILL the part's whole process group and reap it."""
        proc = self.procs[part]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def restart(self, part: Part) -> None:
        """Start a part that is not running (again)."""
        self.start(part)

    def exited(self) -> list[Part]:
        """Parts whose process has exited; each exit is recorded once."""
        gone: list[Part] = []
        for part, proc in list(self.procs.items()):
            if part in self.held:
                continue
            code = proc.poll()
            if code is not None:
                gone.append(part)
                self.exits.append(Exit(part, time.monotonic(), code))
        return gone

    def supervise(self) -> list[Part]:
        """Restart every part that exited on its own; return which ones were restarted."""
        restarted = self.exited()
        for part in restarted:
            self.start(part)
        return restarted

    def stop_all(self) -> list[int]:
        """SIGTERM each part's group, SIGKILL after a grace period; return unkillable pids."""
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        leftovers: list[int] = []
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    leftovers.append(proc.pid)
        return leftovers


def _read_from(log_file: Path, offset: int) -> str:
    try:
        with log_file.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")
    except OSError:
        return ""


def add_employee(env: dict[str, str], employee_id: str, name: str, role: str) -> str:
    """``memberflow employees add`` as an operator runs it; returns the printed token."""
    args = [memberflow_binary(), "employees", "add", employee_id, "--name", name, "--role", role]
    if role != "supervisor":
        args += ["--supervisor", "MG"]
    # Departments come from the shipped operations file, which lists MG, SR and JD: each
    # process start syncs them from it (tests/faults/records.py sends SR's departments only).
    done = subprocess.run(
        args,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]
