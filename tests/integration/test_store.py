"""The Tracker store against a real PostgreSQL: migrations, append-only notes, idempotent and
concurrent writes, follow-ups, the Contact Us read model and employee tokens."""

from __future__ import annotations

import asyncio
import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Select, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.contacts.messages import ContactSubmitted, MemberMessage
from contracts.platform.operations import OpsConfig
from contracts.vocabulary import FollowUpFilter
from workers.app.schema import metadata
from workers.contacts import contact_store as contacts
from workers.contacts.schemas import SecureMessage
from workers.contacts.tables import ContactRequestRow
from workers.platform import employees
from workers.platform.database import Sessions
from workers.platform.errors import (
    ConflictError,
    CrossSalesRequiredError,
    IdempotencyKeyReusedError,
    MemoTypeMismatchError,
    NotFoundError,
    UnknownEmployeeError,
    UnknownTrackerTypeError,
)
from workers.platform.migrate import current_revision, head_revision, upgrade
from workers.platform.tokens import TokenRow
from workers.trackers import follow_up_store as followups
from workers.trackers import reports
from workers.trackers import tracker_store as trackers
from workers.trackers.tables import ConversationRow, TrackerRow

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TODAY = date(2026, 11, 20)
# Follow-ups left open or completed here are never JD's: the e2e story shares this session's
# database and expects John's lists to hold only its own follow-up.


def new_member() -> str:
    return str(random.randint(10**8, 10**9 - 1))


def key(name: str) -> str:
    return f"{name}-{random.getrandbits(48):012x}"


async def count(sessions: Sessions, query: Select[int]) -> int:
    async with sessions() as session:
        return int(await session.scalar(query) or 0)


# --- migrations -------------------------------------------------------------------------------


async def test_migrations_applied_and_rerunnable(postgres_url: str, engine: AsyncEngine) -> None:
    assert await current_revision(postgres_url) == head_revision()
    assert head_revision() is not None
    # Several processes migrate at start-up at once: all must succeed and change nothing.
    await asyncio.gather(*(upgrade(postgres_url) for _ in range(3)))
    assert await current_revision(postgres_url) == head_revision()


async def test_migration_matches_models(engine: AsyncEngine) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_server_default": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []


# --- conversations: append-only, idempotent, concurrent ---------------------------------------


async def test_database_refuses_update_and_delete_of_conversations(
    sessions: Sessions, ops: OpsConfig
) -> None:
    ref = await trackers.append_conversation(
        sessions,
        ops,
        member_id=new_member(),
        tracker_type="MS",
        memo_type="MS",
        employee_id="SR",
        text="Member asked about statement copies.",
        idempotency_key=key("ao"),
    )
    for statement in (
        "UPDATE conversations SET text = 'changed' WHERE id = :id",
        "DELETE FROM conversations WHERE id = :id",
    ):
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement), {"id": ref.conversation_id})
            await session.rollback()
    async with sessions() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("TRUNCATE conversations CASCADE"))
        await session.rollback()
        row = await session.get(ConversationRow, ref.conversation_id)
        assert row is not None and row.text == "Member asked about statement copies."


async def test_same_key_twice_writes_one_conversation(sessions: Sessions, ops: OpsConfig) -> None:
    member, idem = new_member(), key("idem")
    append = partial(
        trackers.append_conversation,
        sessions,
        ops,
        member_id=member,
        tracker_type="XX",
        memo_type="PP",
        employee_id="JD",
        idempotency_key=idem,
    )
    first = await append(text="Promised to pay 200 on the 5th.")
    again = await append(text="Promised to pay 200 on the 5th.")
    assert first == again
    query = select(func.count()).where(ConversationRow.idempotency_key == idem)
    assert await count(sessions, query) == 1
    with pytest.raises(IdempotencyKeyReusedError):
        await append(text="Something else entirely.")


async def test_concurrent_appends_create_one_single_per_member_tracker(
    sessions: Sessions, ops: OpsConfig
) -> None:
    member = new_member()
    refs = await asyncio.gather(
        *(
            trackers.append_conversation(
                sessions,
                ops,
                member_id=member,
                tracker_type="XX",
                memo_type="CL",
                employee_id="JD",
                text=f"Collection call {i}",
                idempotency_key=key(f"conc{i}"),
            )
            for i in range(12)
        )
    )
    assert len({r.tracker_id for r in refs}) == 1
    assert len({r.conversation_id for r in refs}) == 12
    found = await trackers.member_trackers(sessions, member, today=TODAY)
    assert len(found) == 1
    assert sorted(c.seq for c in found[0].conversations) == list(range(1, 13))
    times = [c.created_at for c in found[0].conversations]
    assert times == sorted(times, reverse=True)  # newest first, by the note's time


async def test_concurrent_retries_of_one_key_write_once(sessions: Sessions, ops: OpsConfig) -> None:
    member, idem = new_member(), key("retry")
    refs = await asyncio.gather(
        *(
            trackers.append_conversation(
                sessions,
                ops,
                member_id=member,
                tracker_type="MS",
                memo_type="MS",
                employee_id="SR",
                text="Same note, delivered five times.",
                idempotency_key=idem,
            )
            for _ in range(5)
        )
    )
    assert len(set(refs)) == 1
    found = await trackers.member_trackers(sessions, member, today=TODAY)
    assert len(found) == 1 and found[0].conversation_count == 1


async def test_database_backs_single_per_member_rule(sessions: Sessions, ops: OpsConfig) -> None:
    member = new_member()
    await trackers.append_conversation(
        sessions,
        ops,
        member_id=member,
        tracker_type="AT",
        memo_type="EI",
        employee_id="SYSTEM",
        text="Invalid email flagged.",
        idempotency_key=key("at"),
    )
    async with sessions() as session:
        session.add(
            TrackerRow(
                id=f"bypass-{member}",
                member_id=member,
                account_suffix="000",
                tracker_type="AT",
                single_type="AT",
                description="second audit tracker",
            )
        )
        with pytest.raises(IntegrityError):
            await session.flush()
        await session.rollback()


async def test_single_type_keeps_one_tracker_even_when_a_new_one_is_asked(
    sessions: Sessions, ops: OpsConfig
) -> None:
    member = new_member()
    append = partial(
        trackers.append_conversation,
        sessions,
        ops,
        member_id=member,
        employee_id="SR",
        tracker_type="AT",
        memo_type="CW",
    )
    a = await append(text="Code word verified.", idempotency_key=key("a"))
    b = await append(
        text="Code word changed.", idempotency_key=key("b"), new_tracker=True, account_suffix="001"
    )
    assert a.tracker_id == b.tracker_id


async def test_other_types_append_to_existing_tracker_unless_new_one_asked(
    sessions: Sessions, ops: OpsConfig
) -> None:
    member = new_member()
    append = partial(
        trackers.append_conversation,
        sessions,
        ops,
        member_id=member,
        employee_id="SR",
        tracker_type="MS",
        memo_type="MS",
    )
    a = await append(text="one", idempotency_key=key("m1"))
    b = await append(text="two", idempotency_key=key("m2"))
    c = await append(
        text="new incident",
        idempotency_key=key("m3"),
        new_tracker=True,
        description="Disputed card charge",
    )
    assert a.tracker_id == b.tracker_id != c.tracker_id
    found = await trackers.member_trackers(sessions, member, today=TODAY)
    assert [t.description for t in found] == ["Disputed card charge", "Member Services"]


async def test_each_private_contacts_pair_is_its_own_conversation_in_one_tracker(
    sessions: Sessions, ops: OpsConfig
) -> None:
    member = new_member()
    pc = ops.private_contacts
    refs = []
    for n in range(3):
        refs.append(
            await trackers.append_conversation(
                sessions,
                ops,
                member_id=member,
                tracker_type=pc.tracker_type,
                memo_type=pc.memo_type,
                employee_id="SR",
                text=f"Member wrote: question {n}\nReply: answer {n}",
                idempotency_key=f"contact-reply-{member}-{n}",
            )
        )
    assert len({r.tracker_id for r in refs}) == 1
    assert len({r.conversation_id for r in refs}) == 3
    (tracker,) = await trackers.member_trackers(sessions, member, today=TODAY)
    assert tracker.tracker_type == "PC" and tracker.conversation_count == 3
    assert [c.text.split("\n")[0] for c in tracker.conversations] == [
        "Member wrote: question 2",
        "Member wrote: question 1",
        "Member wrote: question 0",
    ]


async def test_configured_rules_refuse_bad_notes_and_write_nothing(
    sessions: Sessions, ops: OpsConfig
) -> None:
    member = new_member()
    append = partial(
        trackers.append_conversation,
        sessions,
        ops,
        member_id=member,
        employee_id="SR",
        text="x",
        idempotency_key=key("bad"),
    )
    with pytest.raises(MemoTypeMismatchError, match="memo type PP does not belong"):
        await append(tracker_type="MS", memo_type="PP")
    with pytest.raises(UnknownTrackerTypeError):
        await append(tracker_type="ZZ", memo_type="MS")
    with pytest.raises(CrossSalesRequiredError):
        await append(tracker_type="ST", memo_type="SL")
    assert await trackers.member_trackers(sessions, member, today=TODAY) == []
    ref = await append(tracker_type="ST", memo_type="SL", need_group="BORROW", task="CCAPP")
    conversation = await trackers.get_conversation(sessions, ref.conversation_id)
    assert conversation is not None and conversation.task == "CCAPP"


# --- follow-ups -------------------------------------------------------------------------------


async def note(sessions: Sessions, ops: OpsConfig, member: str, words: str = "note") -> str:
    ref = await trackers.append_conversation(
        sessions,
        ops,
        member_id=member,
        tracker_type="MS",
        memo_type="MS",
        employee_id="SR",
        text=words,
        idempotency_key=key("note"),
    )
    return ref.conversation_id


async def test_follow_up_lifecycle(sessions: Sessions, ops: OpsConfig) -> None:
    member = new_member()
    conversation = await note(sessions, ops, member, "Call member back about payoff.")
    open_key = key("open")
    opened = await followups.open_follow_up(
        sessions,
        idempotency_key=open_key,
        conversation_id=conversation,
        assignee_employee_id="SR",
        assigned_by="JD",
        due_on=TODAY + timedelta(days=2),
        today=TODAY,
    )
    retried = await followups.open_follow_up(
        sessions,
        idempotency_key=open_key,
        conversation_id=conversation,
        assignee_employee_id="SR",
        assigned_by="JD",
        due_on=TODAY + timedelta(days=2),
        today=TODAY,
    )
    assert retried == opened
    assert opened.status == "outstanding" and opened.member_id == member
    assert opened.thread_id == opened.id

    queue = await followups.list_follow_ups(sessions, assignee="SR", today=TODAY)
    assert opened.id in [f.id for f in queue]

    done_key = key("done")
    done = await followups.complete_follow_up(
        sessions, opened.id, by_employee_id="SR", idempotency_key=done_key, today=TODAY
    )
    assert done.status == "completed" and done.completed_by == "SR" and done.completed_at
    again = await followups.complete_follow_up(
        sessions, opened.id, by_employee_id="SR", idempotency_key=done_key, today=TODAY
    )
    assert again.completed_at == done.completed_at
    with pytest.raises(ConflictError, match="already completed"):
        await followups.complete_follow_up(
            sessions, opened.id, by_employee_id="MG", idempotency_key=key("other"), today=TODAY
        )

    outstanding = await followups.list_follow_ups(sessions, assignee="SR", today=TODAY)
    completed = await followups.list_follow_ups(
        sessions, assignee="SR", status=FollowUpFilter.COMPLETED, today=TODAY
    )
    assert opened.id not in [f.id for f in outstanding]
    assert opened.id in [f.id for f in completed]

    (tracker,) = await trackers.member_trackers(sessions, member, today=TODAY)
    assert [f.status for f in tracker.conversations[0].follow_ups] == ["completed"]


async def test_follow_up_refuses_unknown_assignee_and_conversation(
    sessions: Sessions, ops: OpsConfig
) -> None:
    conversation = await note(sessions, ops, new_member())
    with pytest.raises(UnknownEmployeeError, match="unknown employee NOBODY"):
        await followups.open_follow_up(
            sessions,
            idempotency_key=key("x"),
            conversation_id=conversation,
            assignee_employee_id="NOBODY",
            assigned_by="SR",
            due_on=TODAY,
            today=TODAY,
        )
    with pytest.raises(NotFoundError):
        await followups.open_follow_up(
            sessions,
            idempotency_key=key("x"),
            conversation_id="no-such-conversation",
            assignee_employee_id="JD",
            assigned_by="SR",
            due_on=TODAY,
            today=TODAY,
        )
    with pytest.raises(NotFoundError):
        await followups.complete_follow_up(
            sessions,
            "no-such-follow-up",
            by_employee_id="JD",
            idempotency_key=key("x"),
            today=TODAY,
        )


async def test_overdue_is_derived_from_the_due_date(sessions: Sessions, ops: OpsConfig) -> None:
    member = new_member()
    ids = {}
    for label, due in (("late", TODAY - timedelta(days=1)), ("due", TODAY)):
        fu = await followups.open_follow_up(
            sessions,
            idempotency_key=key(label),
            conversation_id=await note(sessions, ops, member),
            assignee_employee_id="SR",
            assigned_by="MG",
            due_on=due,
            today=TODAY,
        )
        ids[label] = fu.id
    overdue = await followups.list_follow_ups(
        sessions, member_id=member, status=FollowUpFilter.OVERDUE, today=TODAY
    )
    assert [f.id for f in overdue] == [ids["late"]]
    outstanding = await followups.list_follow_ups(sessions, member_id=member, today=TODAY)
    assert {f.id: f.status for f in outstanding} == {
        ids["late"]: "overdue",
        ids["due"]: "outstanding",
    }
    # The day before, nothing was overdue: the status is computed, not stored.
    earlier = await followups.list_follow_ups(
        sessions, member_id=member, status=FollowUpFilter.OVERDUE, today=TODAY - timedelta(days=1)
    )
    assert earlier == []
    everything = await followups.list_follow_ups(
        sessions, member_id=member, status=FollowUpFilter.ALL, today=TODAY
    )
    assert len(everything) == 2


async def test_reassignment_history_and_thread(sessions: Sessions, ops: OpsConfig) -> None:
    member = new_member()
    first = await followups.open_follow_up(
        sessions,
        idempotency_key=key("t1"),
        conversation_id=await note(sessions, ops, member, "Member asked for a callback."),
        assignee_employee_id="JD",
        assigned_by="MG",
        due_on=TODAY,
        today=TODAY,
    )
    move_key = key("move")
    reassign = partial(
        followups.reassign_follow_up, sessions, first.id, by_employee_id="MG", today=TODAY
    )
    moved = await reassign(to_employee_id="SR", idempotency_key=move_key, note="Loan question")
    assert moved.assignee_employee_id == "SR"
    # A retried reassignment adds no second history row.
    await reassign(to_employee_id="SR", idempotency_key=move_key)
    with pytest.raises(UnknownEmployeeError):
        await reassign(to_employee_id="GHOST", idempotency_key=key("g"))
    with pytest.raises(ConflictError, match="already assigned"):
        await reassign(to_employee_id="SR", idempotency_key=key("s"))

    # Working the follow-up: a note in the thread, then a next follow-up that continues it.
    tracker_id = first.tracker_id
    worked = await trackers.append_to_tracker(
        sessions,
        ops,
        tracker_id=tracker_id,
        memo_type="FU",
        employee_id="SR",
        text="Left a voicemail.",
        idempotency_key=key("w"),
        thread_id=first.thread_id,
    )
    await followups.complete_follow_up(
        sessions, first.id, by_employee_id="SR", idempotency_key=key("c1"), today=TODAY
    )
    second = await followups.open_follow_up(
        sessions,
        idempotency_key=key("t2"),
        conversation_id=worked.conversation_id,
        assignee_employee_id="SR",
        assigned_by="SR",
        due_on=TODAY + timedelta(days=1),
        parent_follow_up_id=first.id,
        today=TODAY,
    )
    assert second.thread_id == first.thread_id
    await note(sessions, ops, member, "Unrelated note outside the thread.")

    thread = await followups.get_follow_up_with_thread(sessions, first.id, today=TODAY)
    assert thread is not None
    assert [c.text for c in thread.conversations] == [
        "Member asked for a callback.",
        "Left a voicemail.",
    ]
    assert [f.id for f in thread.follow_ups] == [first.id, second.id]
    assert [(h.from_employee_id, h.to_employee_id, h.by_employee_id) for h in thread.history] == [
        ("JD", "SR", "MG")
    ]
    assert thread.history[0].note == "Loan question"
    with pytest.raises(ConflictError, match="already completed"):
        await reassign(to_employee_id="JD", idempotency_key=key("z"))
    assert await followups.get_follow_up_with_thread(sessions, "nope", today=TODAY) is None


async def test_follow_up_report_figures(sessions: Sessions, ops: OpsConfig) -> None:
    suffix = f"{random.getrandbits(20):05x}"
    worker, idle = f"R{suffix}", f"I{suffix}"
    await employees.add_employee(sessions, worker, "Report Worker", "employee", "MG")
    await employees.add_employee(sessions, idle, "Idle Worker", "employee")
    member = new_member()
    start, end = date(2026, 1, 1), date(2026, 1, 31)
    report_today = date(2026, 1, 15)

    async def make(due: date, created: datetime, completed: datetime | None) -> None:
        fu = await followups.open_follow_up(
            sessions,
            idempotency_key=key("rep"),
            conversation_id=await note(sessions, ops, member),
            assignee_employee_id=worker,
            assigned_by="MG",
            due_on=due,
            at=created,
            today=report_today,
        )
        if completed is not None:
            await followups.complete_follow_up(
                sessions,
                fu.id,
                by_employee_id=worker,
                idempotency_key=key("rc"),
                at=completed,
                today=report_today,
            )

    jan = datetime(2026, 1, 1, tzinfo=UTC)
    await make(date(2026, 1, 10), jan, None)  # outstanding, overdue on the 15th
    await make(date(2026, 1, 20), jan, None)  # outstanding, not yet due
    await make(date(2026, 2, 20), jan, None)  # due after the period: not counted
    await make(date(2026, 1, 5), jan, jan + timedelta(days=2, hours=12))  # 2.5 days
    await make(date(2026, 1, 5), jan, jan + timedelta(days=1))  # 1 day
    await make(date(2026, 1, 5), jan, datetime(2026, 2, 2, tzinfo=UTC))  # completed after

    rows = {
        r.employee_id: r
        for r in await reports.follow_up_report(
            sessions, start, end, today=report_today, time_zone=ops.time_zone
        )
    }
    mine = rows[worker]
    assert (mine.outstanding, mine.overdue, mine.completed) == (2, 1, 2)
    assert mine.mean_days_to_complete == pytest.approx(1.75)
    assert mine.name == "Report Worker"
    assert (rows[idle].outstanding, rows[idle].completed, rows[idle].mean_days_to_complete) == (
        0,
        0,
        None,
    )


# --- employees and tokens ---------------------------------------------------------------------


async def test_tokens_are_stored_only_as_hashes(sessions: Sessions) -> None:
    emp = f"T{random.getrandbits(20):05x}"
    token = await employees.add_employee(sessions, emp, "Token Tester", "supervisor")
    async with sessions() as session:
        row = await session.scalar(select(TokenRow).where(TokenRow.employee_id == emp))
        assert row is not None
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        found = await session.scalar(
            text(
                "SELECT count(*) FROM employees e JOIN employee_tokens t ON t.employee_id = e.id "
                "WHERE position(:t in concat_ws('|', e.id, e.name, e.role, e.supervisor_id, "
                "t.token_hash)) > 0"
            ),
            {"t": token},
        )
        assert found == 0
    who = await employees.employee_for_token(sessions, token)
    assert who is not None and (who.id, who.role) == (emp, "supervisor")
    assert await employees.employee_for_token(sessions, token + "x") is None
    assert await employees.employee_for_token(sessions, "") is None
    # A new token replaces the old one.
    newer = await employees.add_employee(sessions, emp, "Token Tester", "supervisor")
    assert await employees.employee_for_token(sessions, token) is None
    assert (await employees.employee_for_token(sessions, newer)) == who


async def test_employee_rules(sessions: Sessions, ops: OpsConfig) -> None:
    with pytest.raises(UnknownEmployeeError):
        await employees.add_employee(sessions, "NEWBIE", "New", "employee", "NOSUCH")
    jd = await employees.get_employee(sessions, "JD")
    assert jd is not None and jd.supervisor_id == "MG" and jd.name == "John Doe"
    assert await employees.get_employee(sessions, "NEWBIE") is None
    # Syncing the configuration updates names and supervisors but keeps issued tokens. (Own ids,
    # so tokens other tests issued for the shipped employees in this database stay valid.)
    boss, clerk = f"B{random.getrandbits(20):05x}", f"C{random.getrandbits(20):05x}"
    token = await employees.add_employee(sessions, clerk, "Old Name", "employee")
    data = ops.model_dump()
    for department in data["departments"]:
        department["default_assignee"] = None
    # The shipped employees stay listed: one left out would be disabled (tests/integration/
    # test_access.py), and other tests in this database hold their tokens.
    data["employees"] = [
        *data["employees"],
        {"id": clerk, "name": "New Name", "role": "employee", "supervisor_id": boss},
        {"id": boss, "name": "The Boss", "role": "supervisor"},
    ]
    listed = len(data["employees"])
    synced_count = await employees.sync_employees_from_config(
        sessions, OpsConfig.model_validate(data)
    )
    assert synced_count == listed
    synced = await employees.employee_for_token(sessions, token)
    assert synced is not None
    assert (synced.id, synced.name, synced.supervisor_id) == (clerk, "New Name", boss)


# --- Contact Us read model and secure messages ------------------------------------------------


def submitted(member: str, minutes: int, department: str | None = "LOANS") -> ContactSubmitted:
    return ContactSubmitted(
        request_id=key("req"),
        member_id=member,
        channel="online",
        subject=f"Question {minutes}",
        message="My loan 555 payoff please.",
        department=department,
        callback_phone="6165550100",
        submitted_at=datetime(2026, 11, 20, 9, minutes, tzinfo=UTC),
    )


async def test_contact_queue_read_model(sessions: Sessions) -> None:
    member = new_member()
    late, early, other = submitted(member, 30), submitted(member, 10), submitted(member, 20, None)
    for request in (late, early, other):
        await contacts.upsert_contact_request(sessions, request)
    again = await contacts.upsert_contact_request(sessions, early)  # a redelivered event
    assert again.state == "queued" and again.callback_method == "call"

    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    loans = await contacts.list_contact_requests(
        sessions, department="LOANS", member_id=member, now=now
    )
    assert [r.request_id for r in loans] == [early.request_id, late.request_id]
    everyone = await contacts.list_contact_requests(sessions, member_id=member, now=now)
    assert [r.request_id for r in everyone] == [
        early.request_id,
        other.request_id,
        late.request_id,
    ]

    claimed = await contacts.set_contact_state(
        sessions,
        early.request_id,
        "claimed",
        at=now,
        claimed_by="SR",
        claimed_until=now + timedelta(minutes=30),
    )
    assert claimed.state == "claimed" and claimed.claimed_by == "SR"
    queued = await contacts.list_contact_requests(sessions, member_id=member, now=now)
    assert early.request_id not in [r.request_id for r in queued]
    # After the claim lapses the request is back in everyone's queue.
    later = now + timedelta(minutes=31)
    queued = await contacts.list_contact_requests(sessions, member_id=member, now=later)
    assert early.request_id in [r.request_id for r in queued]
    assert (
        await contacts.list_contact_requests(sessions, state="claimed", member_id=member, now=later)
        == []
    )

    replied = await contacts.set_contact_state(
        sessions, early.request_id, "replied", at=now + timedelta(minutes=5), claimed_by="SR"
    )
    assert replied.state == "replied"
    replied_at = select(ContactRequestRow.replied_at).where(
        ContactRequestRow.request_id == early.request_id
    )
    async with sessions() as session:
        assert await session.scalar(replied_at) == now + timedelta(minutes=5)
    # A late retry of the old claim, or a release after the reply, changes nothing.
    stale = await contacts.set_contact_state(
        sessions, early.request_id, "claimed", at=now, claimed_by="JD"
    )
    assert stale.state == "replied" and stale.claimed_by == "SR"
    after = await contacts.set_contact_state(
        sessions, early.request_id, "queued", at=now + timedelta(hours=1)
    )
    assert after.state == "replied"

    detail = await contacts.get_contact_request(sessions, early.request_id)
    assert detail is not None and detail.message == early.message
    assert detail.callback_phone == "6165550100"
    assert "6165550100" not in repr(detail) and "payoff" not in repr(detail)
    assert await contacts.get_contact_request(sessions, "missing") is None
    with pytest.raises(NotFoundError):
        await contacts.set_contact_state(sessions, "missing", "claimed", at=now)


async def test_secure_messages_one_per_request(sessions: Sessions) -> None:
    member = new_member()
    request = submitted(member, 40)
    await contacts.upsert_contact_request(sessions, request)
    sent = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)

    async def store(message_id: str) -> SecureMessage:
        message = MemberMessage(
            message_id=message_id,
            member_id=member,
            request_id=request.request_id,
            subject=f"RE: {request.subject}",
            body="John will call you today.",
            sent_by_employee_id="SR",
            sent_at=sent,
        )
        return await contacts.store_secure_message(sessions, message)

    first = await store(f"msg-{request.request_id}")
    again = await store(f"msg-{request.request_id}")
    assert first == again
    with pytest.raises(ConflictError):
        await store("msg-other")
    inbox = await contacts.member_messages(sessions, member)
    assert [m.message_id for m in inbox] == [first.message_id]
    assert inbox[0].subject == "RE: Question 40"
