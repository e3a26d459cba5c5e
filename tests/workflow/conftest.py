"""The time-skipping Temporal test server, once per test, for workflow tests.

Durable timers of days complete in milliseconds. How the server is found and prepared (the
project's data converter, memberflow's search attributes) is in ``time_skipping.py``, which the
history recorder shares.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.workflow.time_skipping import start_time_skipping_env


@pytest_asyncio.fixture(loop_scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal server of its own for each test.

    One per test: a workflow left waiting by one test (a timer, a task on a queue without a
    worker) would otherwise hold back time skipping for the tests after it.
    """
    try:
        env = await start_time_skipping_env()
    except FileNotFoundError as missing:
        pytest.fail(str(missing))
    try:
        yield env
    finally:
        await env.shutdown()
