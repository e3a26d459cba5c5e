"""How the desk answers a consolidation or copy run (``relocation_runs.run_keyed``), with a fake
Temporal client: the result; 409 for a key used with another request; the run's refusal with its
status; 504 past the deadline; a finished run found again for a re-submitted key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastapi import HTTPException
from pydantic import BaseModel
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workers.trackers.relocation_runs import FINGERPRINT, fingerprint, keyed_id, run_keyed

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]


class FakeHandle:
    """A workflow handle: its memo's fingerprint and how its result ends."""

    def __init__(self, memo: str, outcome: Any) -> None:
        self.memo, self.outcome = memo, outcome

    async def describe(self) -> FakeHandle:
        return self

    async def memo_value(self, key: str, default: Any = None, *, type_hint: Any = None) -> Any:
        assert key == FINGERPRINT
        return self.memo

    async def result(self) -> Any:
        if self.outcome == "never":
            await asyncio.sleep(60)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class FakeClient:
    """Starts (or, once the run finished, refuses to start) one workflow."""

    def __init__(self, handle: FakeHandle, *, finished: bool = False) -> None:
        self.handle, self.finished = handle, finished
        self.started: list[dict[str, Any]] = []

    async def start_workflow(self, run: Any, arg: Any, **options: Any) -> FakeHandle:
        self.started.append(options)
        if self.finished:
            raise WorkflowAlreadyStartedError(options["id"], "ConsolidateTrackersWorkflow")
        return self.handle

    def get_workflow_handle_for(self, run: Any, workflow_id: str) -> FakeHandle:
        return self.handle

    def get_workflow_handle(self, workflow_id: str) -> Any:
        client = self

        class Lookup:
            async def describe(self) -> FakeHandle:
                if not client.started and not client.finished:
                    raise RPCError("not found", RPCStatusCode.NOT_FOUND, b"")
                return client.handle

        return Lookup()


async def _run(
    client: FakeClient,
    request_print: str = "P",
    deadline: float = 5.0,
    precheck: Callable[[], Awaitable[None]] | None = None,
) -> Any:
    async def workflow_run(self: Any, arg: str) -> str:  # stands in for ...Workflow.run
        return arg

    return await run_keyed(
        client,  # type: ignore[arg-type]
        workflow_run,
        "input",
        workflow_id="tracker-consolidation-x",
        task_queue="q",
        request_print=request_print,
        idempotency_key="K1",
        deadline_seconds=deadline,
        what="consolidation",
        precheck=precheck,
    )


async def test_the_answer_is_the_runs_result_and_the_run_carries_the_fingerprint() -> None:
    client = FakeClient(FakeHandle("P", {"moved": 2}))
    assert await _run(client) == {"moved": 2}
    assert client.started[0]["memo"] == {FINGERPRINT: "P"}


async def test_a_finished_run_answers_a_resubmitted_key() -> None:
    client = FakeClient(FakeHandle("P", {"moved": 2}), finished=True)
    assert await _run(client) == {"moved": 2}


async def test_a_key_used_for_another_request_is_409() -> None:
    with pytest.raises(HTTPException) as refused:
        await _run(FakeClient(FakeHandle("OTHER", {"moved": 2})))
    assert refused.value.status_code == 409
    assert "'K1' was already used for a different consolidation" in str(refused.value.detail)


@pytest.mark.parametrize(
    ("error_type", "status"), [("Conflict", 409), ("NotFound", 404), ("ValidationError", 422)]
)
async def test_a_refused_run_answers_its_refusal(error_type: str, status: int) -> None:
    failure = WorkflowFailureError(
        cause=ApplicationError("Tracker type XX does not allow it", type=error_type)
    )
    with pytest.raises(HTTPException) as refused:
        await _run(FakeClient(FakeHandle("P", failure)))
    assert (refused.value.status_code, refused.value.detail) == (
        status,
        "Tracker type XX does not allow it",
    )


async def test_another_failure_names_no_detail_of_it() -> None:
    failure = WorkflowFailureError(cause=ApplicationError("driver text with data", type="Boom"))
    with pytest.raises(HTTPException) as refused:
        await _run(FakeClient(FakeHandle("P", failure)))
    assert refused.value.status_code == 409
    assert "driver text" not in str(refused.value.detail)


async def test_a_run_past_the_deadline_is_504_and_says_to_send_it_again() -> None:
    with pytest.raises(HTTPException) as late:
        await _run(FakeClient(FakeHandle("P", "never")), deadline=0.05)
    assert late.value.status_code == 504
    assert "same Idempotency-Key" in str(late.value.detail)


async def test_ids_and_fingerprints() -> None:
    assert keyed_id("tracker-copy", "SR", "K1") == keyed_id("tracker-copy", "SR", "K1")
    assert keyed_id("tracker-copy", "SR", "K1") != keyed_id("tracker-copy", "JD", "K1")
    assert "123456" not in keyed_id("tracker-copy", "SR", "123456")

    class Body(BaseModel):
        tracker_ids: list[str]

    assert fingerprint("1", Body(tracker_ids=["a", "b"])) != fingerprint(
        "2", Body(tracker_ids=["a", "b"])
    )


async def test_a_new_keys_request_is_refused_by_the_precheck_before_any_start() -> None:
    async def refuse() -> None:
        raise HTTPException(404, detail="Tracker T not found")

    client = FakeClient(FakeHandle("P", {"moved": 2}))
    with pytest.raises(HTTPException) as refused:
        await _run(client, precheck=refuse)
    assert refused.value.status_code == 404 and client.started == []


async def test_a_key_with_a_run_is_answered_by_the_run_not_the_precheck() -> None:
    async def refuse() -> None:
        raise AssertionError("a key that ran is not checked again")

    client = FakeClient(FakeHandle("P", {"moved": 2}), finished=True)
    assert await _run(client, precheck=refuse) == {"moved": 2}
