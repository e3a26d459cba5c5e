"""Tracker notes written from the desk (``POST /members/{id}/trackers/conversations``) on the
real servers: the configured rules, the Idempotency-Key, and the follow-up it opens."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from contracts.ids import follow_up_workflow_id
from contracts.platform.operations import DEFAULT_TIME_ZONE
from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app
from tests.kafka_helpers import consume
from workers.platform.audit import list_events
from workers.platform.database import derived_id
from workers.platform.employees import add_employee
from workers.platform.settings import Settings
from workers.trackers import desk_notes
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers
from workers.trackers.schemas import ConversationBody
from workers.trackers.tables import ConversationRow, TrackerRow

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

WRITER, ASSIGNEE = "DNW", "DNA"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def desk(base_settings: Settings, postgres_url: str) -> AsyncIterator[dict[str, Any]]:
    """Worker, bridge and API on fresh topics; a writer and an assignee with their tokens."""
    port = free_port()
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("worker", "bridge", "api"), api_port=port
    ) as app:
        sessions = app.services.session_factory
        tokens = {
            WRITER: await add_employee(sessions, WRITER, "Dana Writer", "employee"),
            ASSIGNEE: await add_employee(sessions, ASSIGNEE, "Dan Assignee", "employee"),
        }
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1") as http:
            yield {"app": app, "http": http, "tokens": tokens}


def member() -> str:
    return str(random.randint(10**8, 10**9 - 1))


async def write(
    desk: dict[str, Any], member_id: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {desk['tokens'][WRITER]}",
        "Idempotency-Key": key or uuid.uuid4().hex,
    }
    response: httpx.Response = await desk["http"].post(
        f"/members/{member_id}/trackers/conversations", json=body, headers=headers
    )
    return response


async def conversations_of(app: RunningApp, member_id: str) -> int:
    async with app.services.session_factory() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ConversationRow)
            .join(TrackerRow, TrackerRow.id == ConversationRow.tracker_id)
            .where(TrackerRow.member_id == member_id)
        )
    return int(count or 0)


MS_NOTE = {"tracker_type": "MS", "memo_type": "MS", "text": "Member asked about fees."}


async def test_a_note_lands_in_the_members_tracker(desk: dict[str, Any]) -> None:
    m = member()
    written = await write(desk, m, MS_NOTE)
    assert written.status_code == 200, written.text
    answer = written.json()
    assert answer["follow_up_id"] is None
    trackers = (
        await desk["http"].get(
            f"/members/{m}/trackers",
            headers={"Authorization": f"Bearer {desk['tokens'][WRITER]}"},
        )
    ).json()["items"]
    (tracker,) = trackers
    assert (tracker["id"], tracker["tracker_type"], tracker["account_suffix"]) == (
        answer["tracker_id"],
        "MS",
        "000",
    )
    (note,) = tracker["conversations"]
    assert (note["id"], note["employee_id"], note["text"]) == (
        answer["conversation_id"],
        WRITER,
        "Member asked about fees.",
    )


async def test_one_per_member_types_append_and_new_tracker_starts_another(
    desk: dict[str, Any],
) -> None:
    m = member()
    sales = {"tracker_type": "ST", "memo_type": "SL", "need_group": "SAVE", "task": "CERT"}
    first = (await write(desk, m, {**sales, "text": "Lead one."})).json()
    second = (await write(desk, m, {**sales, "text": "Lead two.", "new_tracker": True})).json()
    assert first["tracker_id"] == second["tracker_id"], "ST is one per member"
    one = (await write(desk, m, {**MS_NOTE, "text": "Incident one."})).json()
    more = (await write(desk, m, {**MS_NOTE, "text": "Same incident."})).json()
    other = (await write(desk, m, {**MS_NOTE, "text": "New incident.", "new_tracker": True})).json()
    assert one["tracker_id"] == more["tracker_id"] != other["tracker_id"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({**MS_NOTE, "memo_type": "PP"}, "memo type PP does not belong to Tracker type MS"),
        ({**MS_NOTE, "tracker_type": "QQ"}, "Tracker type QQ is not configured"),
        (
            {"tracker_type": "ST", "memo_type": "SL", "text": "Offered a card."},
            "Tracker type ST: needs a Need Group and a Task",
        ),
        (
            {
                "tracker_type": "ST",
                "memo_type": "SL",
                "text": "Offered a card.",
                "need_group": "BORROW",
                "task": "CERT",
            },
            "task CERT belongs to Need Group SAVE, not BORROW",
        ),
        (
            {**MS_NOTE, "follow_up": {"assignee_employee_id": "NOBODY", "due_on": "2030-01-02"}},
            "follow-up assignee NOBODY is not a known employee",
        ),
    ],
)
async def test_refused_notes_are_422_and_write_nothing(
    desk: dict[str, Any], body: dict[str, Any], detail: str
) -> None:
    m = member()
    refused = await write(desk, m, body)
    assert refused.status_code == 422, refused.text
    assert detail in refused.json()["detail"]
    assert await conversations_of(desk["app"], m) == 0


async def test_bad_idempotency_key_is_422(desk: dict[str, Any]) -> None:
    refused = await write(desk, member(), MS_NOTE, key="has/slash")
    assert refused.status_code == 422
    assert "Idempotency-Key must be" in refused.json()["detail"]


async def test_a_retry_writes_once_and_other_content_is_409(desk: dict[str, Any]) -> None:
    m, key = member(), uuid.uuid4().hex
    first = await write(desk, m, MS_NOTE, key)
    again = await write(desk, m, MS_NOTE, key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert await conversations_of(desk["app"], m) == 1
    changed = await write(desk, m, {**MS_NOTE, "text": "Something else."}, key)
    assert changed.status_code == 409, changed.text
    assert "already used for a different note" in changed.json()["detail"]
    assert await conversations_of(desk["app"], m) == 1
    # Every try is in the access trail, the refused one too.
    trail: list[tuple[str, int]] = []
    for _ in range(50):
        events = await list_events(desk["app"].services.session_factory, member_id=m)
        trail = [(e.action, e.status) for e in events]
        if len(trail) == 3:
            break
        await asyncio.sleep(0.1)
    assert trail == [("member.trackers.note", 409)] + [("member.trackers.note", 200)] * 2


async def test_a_follow_up_is_opened_once_and_its_assignee_notified(
    desk: dict[str, Any],
) -> None:
    app: RunningApp = desk["app"]
    m, key = member(), uuid.uuid4().hex
    due = date.today() + timedelta(days=7)
    body = {**MS_NOTE, "follow_up": {"assignee_employee_id": ASSIGNEE, "due_on": due.isoformat()}}
    first = await write(desk, m, body, key)
    again = await write(desk, m, body, key)
    assert first.status_code == again.status_code == 200, first.text
    answer = first.json()
    assert answer == again.json() and answer["follow_up_id"]
    record = await followups.get_follow_up(
        app.services.session_factory, answer["follow_up_id"], today=date.today()
    )
    assert record is not None
    assert (record.assignee_employee_id, record.assigned_by, record.due_on) == (
        ASSIGNEE,
        WRITER,
        due,
    )
    assert record.conversation_id == answer["conversation_id"]
    handle = app.services.temporal.get_workflow_handle(follow_up_workflow_id(record.id))
    assert (await handle.describe()).status is not None
    other_due = {"assignee_employee_id": ASSIGNEE, "due_on": (due + timedelta(days=1)).isoformat()}
    for changed in ({**body, "follow_up": other_due}, MS_NOTE):
        refused = await write(desk, m, changed, key)
        assert refused.status_code == 409, refused.text
    assert await conversations_of(app, m) == 1
    notices = await consume(app.bootstrap, app.topics.employee_notifications, 1)
    assert [n.json()["data"]["follow_up_id"] for n in notices] == [record.id]
    assert notices[0].json()["data"]["employee_id"] == ASSIGNEE


async def test_a_retry_adding_a_follow_up_is_409_and_opens_none(desk: dict[str, Any]) -> None:
    """The note went in without a follow-up: the same key asking for one is other content."""
    app: RunningApp = desk["app"]
    m, key = member(), uuid.uuid4().hex
    first = await write(desk, m, MS_NOTE, key)
    assert first.status_code == 200, first.text
    due = (date.today() + timedelta(days=4)).isoformat()
    body = {**MS_NOTE, "follow_up": {"assignee_employee_id": ASSIGNEE, "due_on": due}}
    added = await write(desk, m, body, key)
    assert added.status_code == 409, added.text
    assert "already used for a different note" in added.json()["detail"]
    opened = await followups.list_follow_ups(
        app.services.session_factory, member_id=m, today=date.today()
    )
    assert opened == []
    assert await conversations_of(app, m) == 1


async def test_a_retry_of_a_note_written_before_notes_named_their_follow_up(
    desk: dict[str, Any],
) -> None:
    """Notes written by the earlier version carry no thread: their opened follow-up decides."""
    app: RunningApp = desk["app"]
    sessions, ops = app.services.session_factory, app.services.ops
    m, key = member(), uuid.uuid4().hex
    due = date.today() + timedelta(days=4)
    body = {**MS_NOTE, "follow_up": {"assignee_employee_id": ASSIGNEE, "due_on": due.isoformat()}}
    scoped = f"desk/{WRITER}/{key}"
    fingerprint = desk_notes.fingerprint(m, ConversationBody.model_validate(body))
    written = await trackers.append_conversation(
        sessions,
        ops,
        member_id=m,
        tracker_type="MS",
        memo_type="MS",
        employee_id=WRITER,
        text=MS_NOTE["text"],
        idempotency_key=scoped,
    )
    record = await followups.open_follow_up(
        sessions,
        idempotency_key=f"{scoped}/follow-up",
        follow_up_id=derived_id("desk-follow-up", f"{scoped}/{fingerprint}"),
        conversation_id=written.conversation_id,
        assignee_employee_id=ASSIGNEE,
        assigned_by=WRITER,
        due_on=due,
        today=date.today(),
    )
    again = await write(desk, m, body, key)
    assert again.status_code == 200, again.text
    assert again.json()["follow_up_id"] == record.id
    assert (await write(desk, m, MS_NOTE, key)).status_code == 409


async def test_a_follow_up_note_lands_in_its_thread_once(desk: dict[str, Any]) -> None:
    app: RunningApp = desk["app"]
    m, key = member(), uuid.uuid4().hex
    due = (date.today() + timedelta(days=4)).isoformat()
    asked = {"assignee_employee_id": ASSIGNEE, "due_on": due, "note": "Call back on Friday."}
    body = {**MS_NOTE, "follow_up": asked}
    first = await write(desk, m, body, key)
    again = await write(desk, m, body, key)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    follow_up_id = first.json()["follow_up_id"]
    thread = await followups.get_follow_up_with_thread(
        app.services.session_factory, follow_up_id, today=date.today()
    )
    assert thread is not None
    texts = [(c.employee_id, c.text) for c in thread.conversations]
    assert texts == [(WRITER, MS_NOTE["text"]), (WRITER, "Call back on Friday.")]
    assert await conversations_of(app, m) == 2
    # Another follow-up note under the same key is other content.
    changed = {**body, "follow_up": {**asked, "note": "Call back on Monday."}}
    refused = await write(desk, m, changed, key)
    assert refused.status_code == 409, refused.text
    assert await conversations_of(app, m) == 2


async def read(desk: dict[str, Any], member_id: str, **params: Any) -> httpx.Response:
    response: httpx.Response = await desk["http"].get(
        f"/members/{member_id}/trackers",
        params=params,
        headers={"Authorization": f"Bearer {desk['tokens'][WRITER]}"},
    )
    return response


def notes_of(answer: dict[str, Any]) -> list[str]:
    return [c["text"] for t in answer["items"] for c in t["conversations"]]


async def test_filters_pick_type_account_memo_and_dates(desk: dict[str, Any]) -> None:
    m = member()
    due = (date.today() + timedelta(days=3)).isoformat()
    follow_up = {"assignee_employee_id": ASSIGNEE, "due_on": due}
    await write(desk, m, {**MS_NOTE, "text": "ms-000", "follow_up": follow_up})
    await write(desk, m, {**MS_NOTE, "text": "fu-000", "memo_type": "FU"})
    await write(desk, m, {**MS_NOTE, "text": "ms-001", "account_suffix": "001"})
    sale = {"tracker_type": "ST", "memo_type": "SL", "need_group": "SPEND", "task": "DEBIT"}
    await write(desk, m, {**sale, "text": "st-000"})

    everything = (await read(desk, m)).json()
    assert sorted(notes_of(everything)) == ["fu-000", "ms-000", "ms-001", "st-000"]
    assert everything["next_cursor"] is None
    assert sorted(notes_of((await read(desk, m, tracker_type="MS")).json())) == [
        "fu-000",
        "ms-000",
        "ms-001",
    ]
    assert notes_of((await read(desk, m, account_suffix="001")).json()) == ["ms-001"]
    assert notes_of((await read(desk, m, memo_type="FU")).json()) == ["fu-000"]
    both = (await read(desk, m, tracker_type="MS", memo_type="MS", account_suffix="000")).json()
    (only,) = [c for t in both["items"] for c in t["conversations"]]
    assert only["text"] == "ms-000"
    assert [f["status"] for f in only["follow_ups"]] == ["outstanding"]

    today = datetime.now(ZoneInfo(DEFAULT_TIME_ZONE)).date()
    later = (today + timedelta(days=1)).isoformat()
    assert len(notes_of((await read(desk, m, **{"from": today.isoformat()})).json())) == 4
    assert notes_of((await read(desk, m, **{"from": later})).json()) == []
    earlier = (today - timedelta(days=1)).isoformat()
    assert notes_of((await read(desk, m, **{"to": earlier})).json()) == []


async def test_paging_walks_every_conversation_once_newest_first(desk: dict[str, Any]) -> None:
    m = member()
    texts = [f"note {i}" for i in range(5)]
    for i, words in enumerate(texts):
        await write(desk, m, {**MS_NOTE, "text": words, "new_tracker": i == 3})
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await read(desk, m, **params)).json()
        pages += 1
        seen += notes_of(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == texts[::-1], "each note once, newest first across both Trackers"


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor is not one this API handed out"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "'to' must not be before 'from'"),
        ({"from": "0001-01-01"}, "from must be between"),
        ({"limit": 0}, "limit"),
        ({"memo_type": "ms"}, "memo_type"),
    ],
)
async def test_bad_filters_are_422(
    desk: dict[str, Any], params: dict[str, Any], detail: str
) -> None:
    refused = await read(desk, member(), **params)
    assert refused.status_code == 422
    assert detail in str(refused.json()["detail"])
