"""Recorded histories replay against the current workflow code (docs/workflow-versioning.md).

Every file under ``tests/workflow/histories/`` is a run of an earlier (or the current) release,
recorded by ``python -m tests.workflow.record_histories``. Replaying it with the production
worker's workflows, sandbox and data converter re-runs today's code against what yesterday's
code did: a change that would make a long-running follow-up fail on the next deploy (a command
added, removed or reordered without ``workflow.patched``, an input model made stricter) fails here
first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.worker import Replayer

from tests.workflow.replay import (
    HISTORIES,
    history_files,
    load_history,
    worker_replayer,
    workflow_names,
)
from tests.workflow.time_skipping import start_time_skipping_env

pytestmark = [pytest.mark.workflow, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def replayer() -> AsyncIterator[Replayer]:
    """The production worker's replayer (its build needs a connected client: a test server)."""
    env = await start_time_skipping_env()
    try:
        yield await worker_replayer(
            env.client.service_client.config.target_host, env.client.namespace
        )
    finally:
        await env.shutdown()


@pytest.mark.parametrize("path", history_files(), ids=lambda p: p.relative_to(HISTORIES).as_posix())
async def test_recorded_history_replays(replayer: Replayer, path: Path) -> None:
    recorded = load_history(path)
    result = await replayer.replay_workflow(recorded.history, raise_on_replay_failure=False)
    failure = result.replay_failure
    if failure is not None:
        # A nondeterminism error names the command the code produced and the event it met; a
        # payload error names the model that no longer accepts what an old run stored.
        pytest.fail(
            f"{recorded.name} ({recorded.workflow_type}) no longer replays: "
            f"{type(failure).__name__}: {failure}",
            pytrace=False,
        )


async def test_every_workflow_of_the_worker_has_a_history(replayer: Replayer) -> None:
    recorded = {load_history(path).workflow_type for path in history_files()}
    missing = workflow_names(replayer) - recorded
    assert not missing, f"record a history for {sorted(missing)} (tests/workflow/record_histories)"
