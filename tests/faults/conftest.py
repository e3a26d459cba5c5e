"""The fault harness for the pytest tier (small size), and the table at the end of the run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.faults.harness import FaultHarness
from tests.faults.report import Row, table
from tests.faults.sizes import CI

ROWS = pytest.StashKey[list[Row]]()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def harness() -> AsyncIterator[FaultHarness]:
    """A stack of its own and the three processes, stopped at the end even after a failure."""
    if os.environ.get("MEMBERFLOW_TEST_SERVERS", "local") != "local":
        # Faults kill and stop servers: only a stack this run started may be treated so.
        pytest.skip("the fault suite needs local servers it may kill")
    fault_harness = FaultHarness(CI)
    try:
        await fault_harness.start()
        yield fault_harness
    finally:
        leftovers = await fault_harness.close()
        assert not leftovers, f"processes still running after the fault suite: {leftovers}"


@pytest.fixture
def record_row(pytestconfig: pytest.Config) -> list[Row]:
    """Rows measured in this run, printed as one table in the terminal summary."""
    return pytestconfig.stash.setdefault(ROWS, [])


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the fault table after the run (pass or fail)."""
    rows = config.stash.get(ROWS, [])
    if rows:
        size = f"{CI.requests} requests/fault, stops {CI.pause:g} s"
        terminalreporter.write_sep("=", f"fault table ({size})")
        terminalreporter.write_line(table(rows))
