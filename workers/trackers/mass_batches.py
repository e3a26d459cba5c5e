"""Mass Tracker batches: checks at the edge, submission, the start of the batch's workflow.

Submission stores the batch and its de-duplicated member list in one transaction (``COPY``), so
the list never enters Temporal. The batch id is the client's idempotency key: the same id with
the same content (mode, types, task, text, follow-up, members in order) returns the batch
already stored; other content under it is refused (409).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import date

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.ids import mass_tracker_workflow_id
from contracts.platform.operations import OpsConfig
from contracts.trackers.mass import (
    MassMode,
    MassTrackerInput,
    MassTrackerSpec,
)
from workers.platform import employees
from workers.platform.database import Sessions
from workers.platform.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidTrackerWriteError,
    UnknownEmployeeError,
)
from workers.platform.memberships import MEMBER_ID, raw_connection
from workers.platform.temporal_retries import with_retries
from workers.trackers.mass_writes import BatchPlan
from workers.trackers.tracker_store import check_conversation
from workflows.trackers.mass_trackers import MassTrackerWorkflow


@dataclass(frozen=True)
class Classified:
    """What follows from the configuration: the Need Group (from the Task) and the text."""

    need_group: str | None
    text: str


def classify(ops: OpsConfig, spec: MassTrackerSpec) -> Classified:
    """Check the batch against the configured Tracker rules (every member gets the same note).

    Raises:
        InvalidTrackerWriteError: A subclass naming the broken rule (answered 422).
    """
    configured = ops.tracker_type(spec.tracker_type)
    need_group = None
    text = spec.text
    if spec.mode is MassMode.LEADS:
        if configured is not None and not configured.cross_sales_required:
            raise InvalidTrackerWriteError(
                f"mode leads needs a cross-sales Tracker type (the Sales Tracker); "
                f"{spec.tracker_type} is not one"
            )
        task = next((t for t in ops.tasks if t.code == spec.task), None)
        if task is None:
            raise InvalidTrackerWriteError(f"task {spec.task} is not a configured Task")
        need_group = task.need_group
        text = text or f"Lead: {task.description}"
    elif spec.task is not None:
        task = next((t for t in ops.tasks if t.code == spec.task), None)
        need_group = task.need_group if task is not None else None
    assert text is not None  # the spec's validator: notes carry a text
    check_conversation(ops, spec.tracker_type, spec.memo_type, need_group, spec.task, text)
    return Classified(need_group=need_group, text=text)


def distinct_members(members: list[str]) -> tuple[list[str], int]:
    """The members in list order without repeats, and how many repeats there were.

    Raises:
        InvalidInputError: No members, or a member number that is not 1-12 digits (the
            message names positions, never values).
    """
    bad = [i for i, m in enumerate(members) if not MEMBER_ID.match(m)]
    if bad:
        raise InvalidInputError(
            f"members{bad[:5]}: a member number is 1-12 digits ({len(bad)} invalid)"
        )
    unique = list(dict.fromkeys(members))
    if not unique:
        raise InvalidInputError("a batch needs at least one member")
    return unique, len(members) - len(unique)


def fingerprint(spec: MassTrackerSpec, members: list[str]) -> str:
    """A hash of everything a batch is made of except its id."""
    digest = hashlib.sha256(json.dumps(spec.model_dump(mode="json", exclude={"batch_id"})).encode())
    for member in members:
        digest.update(b"\n" + member.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Submitted:
    """A stored batch: whether this call stored it, its size."""

    created: bool
    members_total: int
    state: str


async def submit_batch(
    sessions: Sessions,
    ops: OpsConfig,
    spec: MassTrackerSpec,
    members: list[str],
    *,
    requested_by: str,
    as_of: date,
) -> Submitted:
    """Check and store a batch with its members (or find the same batch stored before).

    Args:
        sessions: Session factory.
        ops: The Tracker, memo type and cross-sales rules.
        spec: The batch.
        members: Member numbers as listed (repeats are stored once and counted).
        requested_by: The employee the notes are written as.
        as_of: The credit union's local date: a membership closed on or before it is skipped.

    Raises:
        InvalidInputError: The members, or (a subclass) the Tracker rules, refuse the batch.
        UnknownEmployeeError: The follow-up employee is unknown or disabled.
        IdempotencyKeyReusedError: The batch id holds another batch (409).
    """
    classified = classify(ops, spec)
    unique, duplicates = distinct_members(members)
    if spec.follow_up is not None:
        assignee = await employees.get_employee(sessions, spec.follow_up.employee_id)
        if assignee is None or not assignee.enabled:
            raise UnknownEmployeeError(spec.follow_up.employee_id)
    digest = fingerprint(spec, unique)
    async with raw_connection(sessions) as conn, conn.transaction():
        inserted = await conn.fetchval(
            """
            INSERT INTO mass_tracker_batches (batch_id, fingerprint, mode, tracker_type,
                memo_type, need_group, task, text, follow_up_employee_id, follow_up_due_on,
                requested_by, as_of, members_total, duplicates)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
            ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id
            """,
            spec.batch_id,
            digest,
            spec.mode.value,
            spec.tracker_type,
            spec.memo_type,
            classified.need_group,
            spec.task,
            classified.text,
            spec.follow_up.employee_id if spec.follow_up else None,
            spec.follow_up.due_on if spec.follow_up else None,
            requested_by,
            as_of,
            len(unique),
            duplicates,
        )
        if inserted is None:
            stored = await conn.fetchrow(
                "SELECT fingerprint, members_total, state FROM mass_tracker_batches "
                "WHERE batch_id = $1",
                spec.batch_id,
            )
            assert stored is not None
            if stored["fingerprint"] != digest:
                raise IdempotencyKeyReusedError(
                    f"batch id {spec.batch_id} was already used for a different batch"
                )
            if stored["state"] == "failed":
                # Submitted again after a failure: resume. Members already written are marked,
                # so the new run writes only the rest.
                await conn.execute(
                    "UPDATE mass_tracker_batches SET state = 'running', finished_at = NULL "
                    "WHERE batch_id = $1",
                    spec.batch_id,
                )
                return Submitted(False, stored["members_total"], "running")
            return Submitted(False, stored["members_total"], stored["state"])
        await conn.copy_records_to_table(
            "mass_tracker_members",
            records=[(spec.batch_id, m, i) for i, m in enumerate(unique, 1)],
            columns=["batch_id", "member_id", "seq"],
        )
    return Submitted(True, len(unique), "running")


async def start_batch(
    temporal: Client,
    task_queue: str,
    spec: MassTrackerSpec,
    members_total: int,
    *,
    chunk_size: int = 1_000,
) -> str:
    """Start the batch's workflow unless it is running or completed; its id.

    USE_EXISTING: a re-submission (or a retry after a crash between storing and starting) while
    the batch runs joins that run. ALLOW_DUPLICATE_FAILED_ONLY: a completed batch is never run
    again, one that failed, was terminated or timed out runs again - and writes only the members
    without an outcome.
    """
    workflow_id = mass_tracker_workflow_id(spec.batch_id)
    start = MassTrackerInput(
        batch_id=spec.batch_id,
        members_total=members_total,
        follow_ups=spec.follow_up is not None,
        chunk_size=chunk_size,
    )

    async def call() -> None:
        # Completed already: the stored report stands.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await temporal.start_workflow(
                MassTrackerWorkflow.run,
                start,
                id=workflow_id,
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )

    await with_retries(call, f"start {workflow_id}")
    return workflow_id


async def batch_plan(sessions: Sessions, ops: OpsConfig, batch_id: str) -> BatchPlan | None:
    """What a stored batch writes for each member, or None when there is no such batch."""
    async with raw_connection(sessions) as conn:
        row = await conn.fetchrow(
            "SELECT * FROM mass_tracker_batches WHERE batch_id = $1", batch_id
        )
    if row is None:
        return None
    configured = ops.tracker_type(row["tracker_type"])
    return BatchPlan(
        batch_id=batch_id,
        mode=MassMode(row["mode"]),
        tracker_type=row["tracker_type"],
        memo_type=row["memo_type"],
        need_group=row["need_group"],
        task=row["task"],
        text=row["text"],
        requested_by=row["requested_by"],
        follow_up_employee_id=row["follow_up_employee_id"],
        follow_up_due_on=row["follow_up_due_on"],
        as_of=row["as_of"],
        single_per_member=ops.is_single_per_member(row["tracker_type"]),
        description=configured.description if configured is not None else row["tracker_type"],
    )
