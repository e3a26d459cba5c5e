"""One fault at a time under a steady load: nothing lost, nothing doubled, nothing wedged.

Each case runs one round on the module's stack (``harness``) and asserts on what is visible
from outside; the rounds run in the order of ``FAULT_IDS`` (the baseline first). The numbers
of every round are printed as one table at the end of the run.
"""

from __future__ import annotations

import pytest

from tests.faults.harness import FaultHarness
from tests.faults.injectors import FAULT_IDS
from tests.faults.report import Row, table

pytestmark = [pytest.mark.faults, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("fault", list(FAULT_IDS))
async def test_fault(harness: FaultHarness, record_row: list[Row], fault: str) -> None:
    row = await harness.run_round(FAULT_IDS[fault])
    record_row.append(row)
    explained = table([row])
    assert row.lost == 0 and row.duplicated == 0, explained
    assert row.clean, explained
