"""Permanent store errors are non-retryable refusals, on a real PostgreSQL.

A value the database can never accept (too long, a NUL character, a broken check constraint),
or a configuration that refuses the write, fails the activity once with a readable
``ValidationError`` that quotes no member data; a database that cannot be reached is raised as
it is, so Temporal retries the step until the database is back.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from contracts.contacts.activities import CopyToTracker, DeliverReply, OpenFollowUp
from contracts.contacts.messages import ContactSubmitted
from contracts.contacts.workflow import ContactRequestInput, FollowUpRequest, PrivateContactsOptions
from contracts.platform.operations import OpsConfig
from contracts.platform.topics import Topics
from contracts.trackers.follow_ups import FollowUpNote
from deploy.processes import free_port
from tests.integration.conftest import new_follow_up
from tests.integration.test_follow_up_activities import RecordingPublisher
from workers.contacts.activities import ContactActivities
from workers.platform import employees
from workers.platform.database import Sessions, create_engine, session_factory
from workers.platform.errors import InvalidInputError, store_refusals
from workers.platform.member_search import MemberSearchKey
from workers.trackers import tracker_store as trackers
from workers.trackers.activities import FollowUpActivities

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SECRET = "PIN 4321"
"""Member data planted in refused values: no error text may quote it."""

AT = datetime(2026, 11, 20, 15, tzinfo=UTC)


def tag() -> str:
    return f"{random.getrandbits(48):012x}"


def request_input(**overrides: Any) -> ContactRequestInput:
    """A request whose fields skip validation, as a value the models did not yet refuse."""
    fields: dict[str, Any] = {
        "request_id": f"req-{tag()}",
        "member_id": str(random.randint(10**8, 10**9 - 1)),
        "channel": "online",
        "subject": "Card declined",
        "message": "My card was declined.",
        "department": None,
        "callback_phone": None,
        "callback_method": None,
        "in_reply_to": None,
        "submitted_at": AT,
    }
    fields.update(overrides)
    return ContactRequestInput(
        event_id=f"evt-{fields['request_id']}", request=ContactSubmitted.model_construct(**fields)
    )


def refusal(caught: pytest.ExceptionInfo[ApplicationError]) -> tuple[str | None, bool]:
    """The refusal's type and retryability, once sure no text in its chain quotes the member.

    Temporal records the whole cause chain in the workflow's history.
    """
    error: BaseException | None = caught.value
    while error is not None:
        assert SECRET not in str(error)
        error = error.__cause__
    return caught.value.type, caught.value.non_retryable


async def test_a_value_too_long_for_its_column_is_a_validation_refusal(
    sessions: Sessions, ops: OpsConfig
) -> None:
    with pytest.raises(ApplicationError) as caught, store_refusals():
        await trackers.append_conversation(
            sessions,
            ops,
            member_id="4242",
            tracker_type="MS",
            memo_type="MS",
            employee_id="MG",
            text="Called the member.",
            idempotency_key=f"note-{tag()}",
            need_group=f"{SECRET} and more",
        )
    assert refusal(caught) == ("ValidationError", True)
    assert "too long" in caught.value.message


async def test_a_broken_check_constraint_is_a_validation_refusal(sessions: Sessions) -> None:
    with pytest.raises(ApplicationError) as caught, store_refusals():
        async with sessions.begin() as session:
            await session.execute(
                text("UPDATE employees SET role = :role WHERE id = 'MG'"), {"role": SECRET}
            )
    assert refusal(caught) == ("ValidationError", True)
    assert "check" in caught.value.message


async def test_an_unreachable_database_stays_retryable() -> None:
    engine = create_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none")
    try:
        with pytest.raises(Exception) as caught, store_refusals():
            await employees.get_employee(session_factory(engine), "MG")
    finally:
        await engine.dispose()
    assert not isinstance(caught.value, ApplicationError)


async def test_contact_activities_refuse_permanent_store_errors(
    sessions: Sessions, ops: OpsConfig
) -> None:
    acts = ContactActivities(
        sessions, RecordingPublisher(), Topics(), ops, MemberSearchKey(os.urandom(32))
    )
    env = ActivityEnvironment()

    with pytest.raises(ApplicationError) as nul_message:
        await env.run(acts.store_request, request_input(message=f"{SECRET}\x00"))
    assert refusal(nul_message) == ("ValidationError", True)

    stored = request_input()
    await env.run(acts.store_request, stored)
    with pytest.raises(ApplicationError) as nul_reply:
        await env.run(
            acts.deliver_reply,
            DeliverReply(
                request=stored,
                message_id=f"msg-{tag()}",
                employee_id="SR",
                body=f"{SECRET}\x00",
                sent_at=AT,
            ),
        )
    assert refusal(nul_reply) == ("ValidationError", True)

    # The operations file changed after the request started: its memo type is gone.
    gone = stored.model_copy(update={"options": PrivateContactsOptions(memo_type="ZZ")})
    with pytest.raises(ApplicationError) as bad_memo:
        await env.run(
            acts.copy_to_tracker,
            CopyToTracker(
                request=gone, employee_id="SR", reply_body="Done.", idempotency_key=f"c-{tag()}"
            ),
        )
    assert refusal(bad_memo) == ("ValidationError", True)

    written = await env.run(
        acts.copy_to_tracker,
        CopyToTracker(
            request=stored, employee_id="SR", reply_body="Done.", idempotency_key=f"c-{tag()}"
        ),
    )
    with pytest.raises(ApplicationError) as unknown:
        await env.run(
            acts.open_follow_up,
            OpenFollowUp(
                follow_up_id=f"fu-{tag()}",
                member_id=stored.request.member_id,
                tracker_id=written.tracker_id,
                conversation_id=written.conversation_id,
                assigned_by="SR",
                follow_up=FollowUpRequest(assignee_employee_id="NOBODY", due_on=date(2026, 12, 1)),
            ),
        )
    assert refusal(unknown) == ("UnknownEmployee", True)


async def test_a_follow_up_note_the_database_refuses_is_not_retried(
    sessions: Sessions, ops: OpsConfig
) -> None:
    record = await new_follow_up(
        sessions, ops, assignee="SR", due_on=date(2026, 11, 25), today=date(2026, 11, 20)
    )
    acts = FollowUpActivities(sessions, RecordingPublisher(), Topics(), ops)
    note = FollowUpNote(
        follow_up_id=record.id,
        tracker_id=record.tracker_id,
        conversation_id=record.conversation_id,
        employee_id="SR",
        text=f"{SECRET}\x00",
        idempotency_key=f"wf-{tag()}/1-note",
        at=AT,
    )
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.append_follow_up_note, note)
    assert refusal(caught) == ("ValidationError", True)


@pytest.mark.parametrize(
    ("employee_id", "name", "rule"),
    [
        ("E" * 17, "Long Id", "employee ids are 1-16 characters"),
        ("E\x00", "Nul Id", "employee ids are 1-16 characters"),
        (f"N{tag()[:6]}", "Ann\x00", "names are 1-80 characters"),
        (f"N{tag()[:6]}", "A" * 81, "names are 1-80 characters"),
    ],
)
async def test_employees_the_table_cannot_hold_are_refused_readably(
    sessions: Sessions, employee_id: str, name: str, rule: str
) -> None:
    with pytest.raises(InvalidInputError, match=rule):
        await employees.add_employee(sessions, employee_id, name, "employee")
