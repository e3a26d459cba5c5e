"""The desk API's Temporal Updates, each under the one configured deadline.

An Update waits for its workflow: for a worker to accept it and for every activity it runs. A
worker that is down, or an activity retrying through a database outage, would otherwise keep
the HTTP call open for ever. With a deadline the caller gets 504 instead, and the workflow
finishes the action later, once it can.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.workflow import UpdateMethodMultiParam

from workers.platform.web.errors import http_error

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


class DeskUpdates:
    """Sends Updates to workflows and turns every failure into the API's HTTP error."""

    def __init__(self, temporal: Client, deadline: timedelta) -> None:
        """Bind the Temporal client and the deadline (``MEMBERFLOW_API_UPDATE_TIMEOUT_SECONDS``)."""
        self._temporal = temporal
        self._deadline = deadline

    async def execute(
        self,
        workflow_id: str,
        update: UpdateMethodMultiParam[[Any, ArgT], ResultT],
        arg: ArgT,
        *,
        what: str,
    ) -> ResultT:
        """Run one Update and return its result.

        Args:
            workflow_id: The workflow to update.
            update: The Update method (e.g. ``ContactRequestWorkflow.claim``).
            arg: Its input.
            what: The record acted on, for error details (``contact request REQ-1``).

        Raises:
            HTTPException: The refusal's status; 404 unknown workflow; 503 Temporal unavailable;
                504 not finished within the deadline.
        """
        handle = self._temporal.get_workflow_handle(workflow_id)
        seconds = self._deadline.total_seconds()
        try:
            # rpc_timeout bounds each call to the server, but execute_update re-sends an Update
            # not accepted yet and then polls for its outcome without a deadline (temporalio
            # 1.35): only a timeout around the whole call bounds what the caller waits.
            async with asyncio.timeout(seconds):
                return await handle.execute_update(update, arg, rpc_timeout=self._deadline)
        except (
            WorkflowUpdateFailedError,
            RPCError,
            RPCTimeoutOrCancelledError,
            TimeoutError,
        ) as exc:
            raise http_error(exc, what, deadline_seconds=seconds) from exc
