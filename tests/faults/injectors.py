"""The faults, one at a time: what is broken, and how it is brought back.

Kills are SIGKILL of the whole process (for a server: every process of it, as a crash or the
OOM killer would leave it), then a restart after ``restart_delay``. Stops are SIGSTOP of every
process of the server for ``pause`` seconds, then SIGCONT: clients keep their connections, and
nothing answers on them, which is what a hung server or a network partition looks like.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.faults.apps import AppProcesses, Part
from tests.faults.servers import FaultStack
from tests.faults.sizes import FaultSize


@dataclass
class Targets:
    """What faults act on."""

    stack: FaultStack
    apps: AppProcesses
    size: FaultSize


Action = Callable[[Targets], Awaitable[None]]


@dataclass(frozen=True)
class Fault:
    """A named fault: ``inject`` breaks something, ``recover`` brings it back."""

    name: str
    inject: Action
    recover: Action


async def _nothing(targets: Targets) -> None:
    return None


def kill_part(part: Part) -> Fault:
    """SIGKILL one memberflow process and start it again."""

    async def inject(targets: Targets) -> None:
        targets.apps.held.add(part)
        await asyncio.to_thread(targets.apps.kill, part)

    async def recover(targets: Targets) -> None:
        await asyncio.sleep(targets.size.restart_delay)
        try:
            await asyncio.to_thread(targets.apps.restart, part)
        finally:
            targets.apps.held.discard(part)

    return Fault(f"{part} SIGKILL+restart", inject, recover)


def kill_server(name: str) -> Fault:
    """SIGKILL every process of one server and start it again on its port, with its data."""

    async def inject(targets: Targets) -> None:
        await asyncio.to_thread(targets.stack.kill, name)

    async def recover(targets: Targets) -> None:
        await asyncio.sleep(targets.size.restart_delay)
        await asyncio.to_thread(targets.stack.restart)

    return Fault(f"{name} SIGKILL+restart", inject, recover)


def stop_server(name: str) -> Fault:
    """SIGSTOP every process of one server for ``pause`` seconds, then SIGCONT."""

    async def inject(targets: Targets) -> None:
        await asyncio.to_thread(targets.stack.stop, name)

    async def recover(targets: Targets) -> None:
        await asyncio.sleep(targets.size.pause)
        await asyncio.to_thread(targets.stack.cont, name)

    return Fault(f"{name} SIGSTOP+SIGCONT", inject, recover)


BASELINE = Fault("none (baseline)", _nothing, _nothing)

FAULTS: list[Fault] = [
    BASELINE,
    kill_part("bridge"),
    kill_part("worker"),
    kill_part("api"),
    kill_server("kafka"),
    kill_server("temporal"),
    kill_server("postgres"),
    stop_server("postgres"),
    stop_server("temporal"),
]
"""Every fault in the order a run applies them (the baseline first, to separate what the load
alone does from what a fault does)."""

FAULT_IDS = {
    "baseline": BASELINE,
    "bridge-kill": FAULTS[1],
    "worker-kill": FAULTS[2],
    "api-kill": FAULTS[3],
    "kafka-kill": FAULTS[4],
    "temporal-kill": FAULTS[5],
    "postgres-kill": FAULTS[6],
    "postgres-stop": FAULTS[7],
    "temporal-stop": FAULTS[8],
}
"""Short names for the command line and pytest ids."""
