"""A throwaway PostgreSQL cluster from Debian's packages, run by the ``postgres`` user.

PostgreSQL refuses to run as root, so when we are root every server command goes through
``runuser -u postgres``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.processes import StackError, port_open, wait_until

SERVER_USER = "postgres"
APP_ROLE = "memberflow"
APP_DATABASE = "memberflow"


def bin_dir() -> Path:
    """The newest installed PostgreSQL server's bin folder."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise StackError("PostgreSQL server not installed: apt-get install -y postgresql")


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", SERVER_USER, "--", *args]


def _run(args: list[str], what: str) -> str:
    result = subprocess.run(_as_server_user(args), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"postgres {what} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@dataclass
class PostgresCluster:
    """A cluster whose data directory and socket live under ``home``."""

    home: Path
    port: int
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.home / "postgres.log"

    def url(self, database: str = APP_DATABASE) -> str:
        """SQLAlchemy async URL of a database in this cluster."""
        return f"postgresql+asyncpg://{APP_ROLE}@{self.host}:{self.port}/{database}"

    def _prepare_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.home, user=SERVER_USER, group=SERVER_USER)
            # The server user must be able to reach its folder through ours.
            for parent in self.home.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)

    def start(self) -> int:
        """initdb on first use, start, create the application role and database."""
        binaries = bin_dir()
        self._prepare_home()
        if not (self.data_dir / "PG_VERSION").exists():
            _run(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-A",
                    "trust",
                    "-U",
                    SERVER_USER,
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                "initdb",
            )
        # A development cluster: an acknowledged commit survives a crash of PostgreSQL itself
        # (synchronous_commit on: the WAL reaches the operating system before the answer), so
        # a killed server never forgets work memberflow was told is stored. Flushing to the
        # disk (fsync) stays off: a power cut may lose this cluster, which only holds test data.
        options = (
            f"-p {self.port} -k {self.data_dir} -c listen_addresses={self.host} "
            "-c fsync=off -c synchronous_commit=on -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=256MB"
        )
        _run(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            "start",
        )
        wait_until(lambda: port_open(self.host, self.port), timeout=30, what="postgres")
        self._ensure_database(binaries)
        return self.pid()

    def _psql(self, binaries: Path, sql: str, database: str = "postgres") -> str:
        return _run(
            [
                str(binaries / "psql"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                SERVER_USER,
                "-d",
                database,
                "-tAc",
                sql,
            ],
            "psql",
        )

    def _ensure_database(self, binaries: Path) -> None:
        if not self._psql(binaries, f"SELECT 1 FROM pg_roles WHERE rolname='{APP_ROLE}'").strip():
            self._psql(binaries, f"CREATE ROLE {APP_ROLE} LOGIN SUPERUSER")
        self.create_database(APP_DATABASE, binaries)

    def create_database(self, name: str, binaries: Path | None = None) -> str:
        """Create a database owned by the application role (if missing); return its URL."""
        binaries = binaries or bin_dir()
        if not self._psql(binaries, f"SELECT 1 FROM pg_database WHERE datname='{name}'").strip():
            self._psql(binaries, f'CREATE DATABASE "{name}" OWNER {APP_ROLE}')
        return self.url(name)

    def pid(self) -> int:
        """The postmaster's pid (0 when not running)."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def stop(self) -> None:
        """Fast shutdown: roll back open transactions, stop at once."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        _run(
            [str(bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            "stop",
        )
