"""``memberflow tiers run`` keeps following a run while no worker answers its progress query,
and stops on any other error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.tiers.runs import TierRunProgress
from workers.app.cli_tiers import query_progress

pytestmark = pytest.mark.unit


class FakeHandle:
    """Answers the ``progress`` query with a value, or raises the given error."""

    def __init__(self, answer: TierRunProgress | BaseException) -> None:
        self.answer = answer

    async def query(self, name: str, *, result_type: type[Any]) -> Any:
        assert (name, result_type) == ("progress", TierRunProgress)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def progress_of(answer: TierRunProgress | BaseException) -> TierRunProgress | None:
    handle: Any = FakeHandle(answer)
    return asyncio.run(query_progress(handle))


def test_an_answer_is_returned() -> None:
    answer = TierRunProgress(period="2026-05", phase="scoring", shards_total=4)
    assert progress_of(answer) == answer


@pytest.mark.parametrize(
    "error",
    [
        RPCError("no poller seen for task queue recently", RPCStatusCode.FAILED_PRECONDITION, b""),
        RPCError("Timeout expired", RPCStatusCode.CANCELLED, b""),
        RPCError("deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b""),
        WorkflowQueryFailedError("Query handler for 'progress' expected but not found"),
    ],
)
def test_no_worker_answering_yet_is_no_progress(error: BaseException) -> None:
    assert progress_of(error) is None


@pytest.mark.parametrize(
    "error",
    [
        RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""),
        RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b""),
        RuntimeError("a bug"),
    ],
)
def test_other_errors_stop_the_command(error: BaseException) -> None:
    with pytest.raises(type(error)):
        progress_of(error)
