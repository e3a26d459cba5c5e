"""A Tracker note written from the desk, with an optional follow-up (docs/http-api.md).

No workflow of its own: the write is one idempotent store transaction, then (when asked) an
idempotent follow-up row and an idempotent ``FollowUpWorkflow`` start whose ids derive from the
caller's ``Idempotency-Key``. A crash between any two steps leaves only finished steps behind;
the client's retry with the same key and body redoes nothing that was done and finishes the
rest, so the answer is the same whether the first try died half-way or not.

"Same content" is checked with exact-key look-ups only: the stored note's fields, and the
follow-up's id, derived from a hash of the whole body. The note itself records which follow-up
it was written for: its ``thread_id`` is that id (None without one), so a retry that adds,
drops or changes the follow-up is other content (409), even when the first try died before
opening it. The follow-up's own ``note``, when given, is a second note in its thread.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from temporalio.client import Client
from temporalio.common import TypedSearchAttributes

from contracts.ids import follow_up_workflow_id
from contracts.platform.operations import OpsConfig
from contracts.trackers.follow_ups import FollowUpInput
from workers.contacts.activities import policy_snapshot
from workers.platform import employees
from workers.platform.database import Sessions, derived_id
from workers.platform.errors import IdempotencyKeyReusedError, UnknownEmployeeError
from workers.platform.member_search import member_search_key
from workers.platform.settings import TemporalSettings
from workers.platform.temporal_retries import start_once
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers
from workers.trackers.conversation_writes import (
    KeyedConversation,
    keyed_conversation,
    keyed_follow_up,
)
from workers.trackers.schemas import ConversationBody, ConversationWritten
from workflows.trackers.follow_up import FollowUpWorkflow


def fingerprint(member_id: str, body: ConversationBody) -> str:
    """A short hash of everything the note and its follow-up are made of."""
    content = json.dumps([member_id, body.model_dump(mode="json")], sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:24]


def _same_note(
    ops: OpsConfig, earlier: KeyedConversation, member_id: str, body: ConversationBody
) -> bool:
    """Whether the conversation written earlier under the key is the one ``body`` asks for."""
    # A one-per-member type's Tracker sits on whichever account it was opened on.
    same_account = (
        ops.is_single_per_member(body.tracker_type) or earlier.account_suffix == body.account_suffix
    )
    return same_account and (
        earlier.member_id,
        earlier.tracker_type,
        earlier.memo_type,
        earlier.text,
        earlier.need_group,
        earlier.task,
    ) == (
        member_id,
        body.tracker_type,
        body.memo_type,
        body.text,
        body.need_group,
        body.task,
    )


def _reused(idempotency_key: str) -> IdempotencyKeyReusedError:
    return IdempotencyKeyReusedError(
        f"Idempotency-Key {idempotency_key!r} was already used for a different note"
    )


async def write_desk_note(
    sessions: Sessions,
    ops: OpsConfig,
    temporal: Client,
    *,
    temporal_settings: TemporalSettings,
    caller: str,
    member_id: str,
    idempotency_key: str,
    body: ConversationBody,
    today: date,
) -> ConversationWritten:
    """Write the note (and open its follow-up) once per key; a retry gets the same answer.

    Args:
        sessions: Session factory.
        ops: Tracker, memo type and cross-sales rules; the follow-up policy.
        temporal: Client the follow-up's workflow is started with.
        temporal_settings: The task queue and the ``MemberKey`` search hash key (read only
            when a follow-up is opened).
        caller: The employee writing (the note's author, the follow-up's ``assigned_by``).
        member_id: The membership.
        idempotency_key: The caller's ``Idempotency-Key`` header.
        body: What to write.
        today: The credit union's local date (the follow-up's overdue status).

    Returns:
        Where the note landed and the follow-up's id.

    Raises:
        IdempotencyKeyReusedError: The key was used (by this caller) for other content.
        InvalidTrackerWriteError: A configured rule refuses the note (nothing written).
        UnknownEmployeeError: The follow-up's assignee is unknown or disabled (nothing written).
    """
    # Scoped to the caller: two employees' keys never collide. Exact keys only, so every
    # look-up is an index probe on the unique idempotency_key columns.
    key = f"desk/{caller}/{idempotency_key}"
    follow_up_key = f"{key}/follow-up"
    # The follow-up's id carries a hash of the whole body: the same key with another follow-up
    # (assignee, due date) finds a row of another id, which open_follow_up refuses (409).
    follow_up_id = derived_id("desk-follow-up", f"{key}/{fingerprint(member_id, body)}")
    # Written into the note: which follow-up (if any) this content asked for.
    thread_id = follow_up_id if body.follow_up is not None else None
    earlier = await keyed_conversation(sessions, key)
    opened = await keyed_follow_up(sessions, follow_up_key)
    if earlier is not None:
        # A note written before notes recorded their follow-up has none: the follow-up opened
        # under the key, if any, says what that try asked for.
        recorded = earlier.thread_id if earlier.thread_id is not None else opened
        if not _same_note(ops, earlier, member_id, body) or recorded != thread_id:
            raise _reused(idempotency_key)
    if opened is not None and (body.follow_up is None or opened != follow_up_id):
        raise _reused(idempotency_key)
    asked = body.follow_up
    if asked is not None:
        # Checked before the note is written: a refused follow-up must leave nothing behind.
        assignee = await employees.get_employee(sessions, asked.assignee_employee_id)
        if assignee is None or not assignee.enabled:
            raise UnknownEmployeeError(
                f"follow-up assignee {asked.assignee_employee_id} is not a known employee"
            )
    written = await trackers.append_conversation(
        sessions,
        ops,
        member_id=member_id,
        account_suffix=body.account_suffix,
        tracker_type=body.tracker_type,
        memo_type=body.memo_type,
        employee_id=caller,
        text=body.text,
        idempotency_key=key,
        need_group=body.need_group,
        task=body.task,
        thread_id=thread_id,
        new_tracker=body.new_tracker,
    )
    if asked is None:
        return ConversationWritten(
            tracker_id=written.tracker_id, conversation_id=written.conversation_id
        )
    record = await followups.open_follow_up(
        sessions,
        idempotency_key=follow_up_key,
        follow_up_id=follow_up_id,
        conversation_id=written.conversation_id,
        assignee_employee_id=asked.assignee_employee_id,
        assigned_by=caller,
        due_on=asked.due_on,
        today=today,
    )
    if asked.note is not None:
        # The word for the assignee, in the follow-up's thread, classified as the note.
        await trackers.append_to_tracker(
            sessions,
            ops,
            tracker_id=written.tracker_id,
            memo_type=body.memo_type,
            employee_id=caller,
            text=asked.note,
            idempotency_key=f"{follow_up_key}/note",
            need_group=body.need_group,
            task=body.task,
            thread_id=record.thread_id,
        )
    start = FollowUpInput(
        follow_up_id=record.id,
        member_id=member_id,
        member_key=member_search_key(temporal_settings).of(member_id),
        tracker_id=written.tracker_id,
        conversation_id=written.conversation_id,
        assignee_employee_id=record.assignee_employee_id,
        assigned_by=caller,
        due_on=record.due_on,
        # Codes only, never the note: notifications travel to other systems.
        summary=f"{body.tracker_type}/{body.memo_type} follow-up from {caller}",
        policy=policy_snapshot(ops),
        memo_type=body.memo_type,
    )
    # USE_EXISTING: a retry (or a crash after the start) never starts a second run.
    await start_once(
        temporal,
        FollowUpWorkflow.run,
        start,
        workflow_id=follow_up_workflow_id(record.id),
        task_queue=temporal_settings.task_queue,
        # The workflow sets its own search attributes when it starts.
        search_attributes=TypedSearchAttributes.empty,
    )
    return ConversationWritten(
        tracker_id=written.tracker_id,
        conversation_id=written.conversation_id,
        follow_up_id=record.id,
    )
