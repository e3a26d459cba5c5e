"""Consolidating Trackers and copying them to another membership, on the real servers: the
desk API, the workflows on a worker, PostgreSQL's guard and the relocation function."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from contracts.ids import tracker_consolidation_workflow_id
from deploy.processes import free_port
from tests.hostile.checks import workflow_exists
from tests.integration.conftest import running_app
from tests.integration.relocation_world import (
    EMPLOYEE,
    SUPERVISOR,
    Desk,
    at,
    member,
    snapshot,
)
from workers.platform.audit import list_events
from workers.platform.employees import add_employee
from workers.platform.settings import Settings
from workers.trackers import follow_up_store as followups
from workers.trackers.relocation_runs import keyed_id

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def desk(base_settings: Settings, postgres_url: str) -> AsyncIterator[Desk]:
    """Worker and API on the real servers; a supervisor and an employee with their tokens."""
    port = free_port()
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("worker", "api"), api_port=port
    ) as app:
        sessions = app.services.session_factory
        tokens = {
            SUPERVISOR: await add_employee(sessions, SUPERVISOR, "Rae Supervisor", "supervisor"),
            EMPLOYEE: await add_employee(sessions, EMPLOYEE, "Rob Employee", "employee"),
        }
        # Beyond the API's own deadline (10 s), so its 504 would be seen, not a client timeout.
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30
        ) as http:
            yield Desk(app, http, tokens)


# --- consolidate ---------------------------------------------------------------------------------


async def test_consolidate_moves_every_note_into_the_older_tracker_in_time_order(
    desk: Desk,
) -> None:
    m = member()
    older = await desk.tracker(m, [(10, "First visit."), (30, "Third visit.")])
    newer = await desk.tracker(m, [(20, "Second visit."), (40, "Fourth visit.")])
    before = snapshot(await desk.conversations(older) + await desk.conversations(newer))

    answer = await desk.consolidate(m, [newer, older])
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["tracker_id"], result["removed_tracker_id"], result["moved"]) == (
        older,
        newer,
        2,
    )
    (tracker,) = await desk.listing(m)
    assert tracker["id"] == older
    assert [c["text"] for c in tracker["conversations"]] == [
        "Fourth visit.",
        "Third visit.",
        "Second visit.",
        "First visit.",
    ]
    paged = await desk.listing(m, limit=3)
    assert [c["text"] for c in paged[0]["conversations"]] == [
        "Fourth visit.",
        "Third visit.",
        "Second visit.",
    ]
    assert not await desk.exists(newer)
    # Nothing of a note changed but its Tracker.
    after = await desk.conversations(older)
    assert sorted(snapshot(after)) == sorted(before)
    moved = await desk.relocations(result["consolidation_id"])
    moved_ids = {c[0] for c in before[2:]}
    assert {r.conversation_id for r in moved} == moved_ids
    assert {(r.from_tracker_id, r.to_tracker_id, r.relocated_by) for r in moved} == {
        (newer, older, SUPERVISOR)
    }
    trail = await list_events(desk.sessions, member_id=m)
    assert [
        (e.status, e.record_id) for e in trail if e.action == "member.trackers.consolidate"
    ] == [(200, result["consolidation_id"])]


async def test_a_follow_up_on_a_moved_note_still_completes(desk: Desk) -> None:
    m = member()
    older = await desk.tracker(m, [(10, "Opened the case.")])
    written = await desk.http.post(
        f"/members/{m}/trackers/conversations",
        json={
            "tracker_type": "MS",
            "memo_type": "MS",
            "text": "Call the member back about the fee.",
            "new_tracker": True,
            "follow_up": {
                "assignee_employee_id": SUPERVISOR,
                "due_on": (date.today() + timedelta(days=3)).isoformat(),
            },
        },
        headers=desk.headers(),
    )
    assert written.status_code == 200, written.text
    note = written.json()
    answer = await desk.consolidate(m, [older, note["tracker_id"]])
    assert answer.status_code == 200, answer.text

    done = await desk.http.post(
        f"/follow-ups/{note['follow_up_id']}/complete",
        json={"note": "Called back, fee explained."},
        headers=desk.headers(),
    )
    assert done.status_code == 200, done.text
    record = await followups.get_follow_up(desk.sessions, note["follow_up_id"], today=date.today())
    assert record is not None
    assert (record.status, record.tracker_id, record.conversation_id) == (
        "completed",
        older,
        note["conversation_id"],
    )
    # The closing note lands in the Tracker the conversation is in now.
    texts = [c.text for c in await desk.conversations(older)]
    assert len(texts) == 3 and texts[-1].endswith("Called back, fee explained.")


async def test_one_key_consolidates_once_and_refuses_another_request(desk: Desk) -> None:
    m = member()
    one = await desk.tracker(m, [(10, "One.")])
    two = await desk.tracker(m, [(20, "Two.")])
    three = await desk.tracker(m, [(30, "Three.")])
    key = uuid.uuid4().hex
    first = await desk.consolidate(m, [one, two], key=key)
    again = await desk.consolidate(m, [one, two], key=key)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json()
    assert len(await desk.relocations(first.json()["consolidation_id"])) == 1
    other = await desk.consolidate(m, [one, three], key=key)
    assert other.status_code == 409, other.text
    assert "already used for a different consolidation" in other.json()["detail"]
    assert await desk.exists(three) and len(await desk.conversations(one)) == 2


async def test_consolidate_refusals_name_the_reason_and_change_nothing(desk: Desk) -> None:
    m, other_member = member(), member()
    ms = await desk.tracker(m, [(10, "Service.")])
    pc = await desk.tracker(m, [(11, "Private.")], tracker_type="PC", memo_type="PC")
    loan = await desk.tracker(m, [(12, "On the loan.")], account_suffix="001")
    theirs = await desk.tracker(other_member, [(13, "Theirs.")])
    xx_one = await desk.legacy_tracker(m, "XX", "CL")
    xx_two = await desk.legacy_tracker(m, "XX", "CL")
    cases = [
        ([xx_one, xx_two], 409, "Tracker type XX does not allow moving conversations"),
        ([ms, pc], 409, "both must be of one type"),
        ([ms, theirs], 409, "belongs to another membership"),
        ([ms, loan], 409, "only Trackers on the base (000) account"),
        ([ms, str(uuid.uuid4())], 404, "not found"),
        ([ms, ms], 422, "two different Trackers"),
    ]
    for tracker_ids, status, reason in cases:
        answer = await desk.consolidate(m, tracker_ids)
        assert answer.status_code == status, (tracker_ids, answer.text)
        assert reason in str(answer.json()["detail"]), answer.text
        assert m not in answer.text
    refused = await desk.consolidate(m, [ms, pc], who=EMPLOYEE)
    assert refused.status_code == 403, refused.text
    assert "may not consolidate Trackers" in refused.json()["detail"]
    # Refused at the edge: no workflow was started for the key.
    key = uuid.uuid4().hex
    assert (await desk.consolidate(m, [xx_one, xx_two], key=key)).status_code == 409
    consolidation_id = keyed_id("tracker-consolidation", SUPERVISOR, key)
    workflow_id = tracker_consolidation_workflow_id(consolidation_id)
    assert not await workflow_exists(desk.app.services.temporal, workflow_id)
    for tracker_id in (ms, pc, loan, theirs, xx_one, xx_two):
        assert await desk.exists(tracker_id) and len(await desk.conversations(tracker_id)) == 1


# --- copy --------------------------------------------------------------------------------------


async def test_copy_writes_linked_copies_on_the_other_membership_and_leaves_the_source(
    desk: Desk,
) -> None:
    m, to = member(), member()
    source = await desk.tracker(m, [(10, "Opened."), (20, "Followed up."), (30, "Closed.")])
    before = snapshot(await desk.conversations(source))
    counted = await desk.notes_reported(at(0).date())
    key = uuid.uuid4().hex
    answer = await desk.copy(m, {"tracker_id": source, "to_member_id": to}, key=key)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    (target,) = await desk.listing(to)
    assert (target["id"], target["tracker_type"], target["account_suffix"]) == (
        result["tracker_id"],
        "MS",
        "000",
    )
    assert [c["text"] for c in target["conversations"]] == ["Closed.", "Followed up.", "Opened."]
    # Each copy keeps its source's time: the copies sort as the source's notes did.
    times = [datetime.fromisoformat(c["created_at"]) for c in target["conversations"]]
    assert times == [at(30), at(20), at(10)]
    links = await desk.copy_rows(result["copy_id"])
    assert {(r.source_conversation_id, r.conversation_id) for r in links} == {
        (c["source_conversation_id"], c["conversation_id"]) for c in result["copies"]
    }
    assert [c["source_conversation_id"] for c in result["copies"]] == [b[0] for b in before]
    assert snapshot(await desk.conversations(source)) == before
    # A copy keeps its source's author and time; the activity report counts the note once.
    assert await desk.notes_reported(at(0).date()) == counted
    day = at(0).date().isoformat()
    sales = await desk.http.get(
        "/reports/cross-sales", params={"from": day, "to": day}, headers=desk.headers()
    )
    assert sales.status_code == 200, sales.text  # its notes leave copies out the same way
    with pytest.raises(DBAPIError, match="only grows"):
        async with desk.sessions.begin() as session:
            await session.execute(
                text("DELETE FROM conversation_copies WHERE copy_id = :c"), {"c": result["copy_id"]}
            )

    again = await desk.copy(m, {"tracker_id": source, "to_member_id": to}, key=key)
    assert again.status_code == 200 and again.json() == result
    assert len(await desk.copy_rows(result["copy_id"])) == 3
    other = await desk.copy(m, {"tracker_id": source, "to_member_id": member()}, key=key)
    assert other.status_code == 409, other.text
    assert "already used for a different copy" in other.json()["detail"]
    trail = await list_events(desk.sessions, member_id=m)
    audited = [(e.status, e.record_id) for e in trail if e.action == "member.trackers.copy"]
    assert audited == [(409, result["copy_id"]), (200, result["copy_id"]), (200, result["copy_id"])]


async def test_copy_of_chosen_notes_appends_to_a_one_per_member_tracker(desk: Desk) -> None:
    m, to = member(), member()
    source = await desk.tracker(
        m, [(10, "Asked about a card."), (20, "Card sent.")], tracker_type="PC", memo_type="PC"
    )
    theirs = await desk.tracker(to, [(15, "Their own note.")], tracker_type="PC", memo_type="PC")
    chosen = (await desk.conversations(source))[1].id
    answer = await desk.copy(
        m, {"tracker_id": source, "to_member_id": to, "conversation_ids": [chosen]}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["tracker_id"] == theirs
    assert [c.text for c in await desk.conversations(theirs)] == ["Their own note.", "Card sent."]


async def test_copy_refusals(desk: Desk) -> None:
    m, to = member(), member()
    xx = await desk.legacy_tracker(m, "XX", "CL")
    ms = await desk.tracker(m, [(10, "Service.")])
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"tracker_id": xx, "to_member_id": to}, 409, "Tracker type XX does not allow copying"),
        ({"tracker_id": ms, "to_member_id": m}, 422, "a copy goes to another membership"),
        ({"tracker_id": str(uuid.uuid4()), "to_member_id": to}, 404, "is not a Tracker of this"),
        (
            {"tracker_id": ms, "to_member_id": to, "conversation_ids": [str(uuid.uuid4())]},
            404,
            "is not in Tracker",
        ),
    ]
    for body, status, reason in cases:
        answer = await desk.copy(m, body)
        assert answer.status_code == status, (body, answer.text)
        assert reason in answer.json()["detail"], answer.text
    refused = await desk.copy(m, {"tracker_id": ms, "to_member_id": to}, who=EMPLOYEE)
    assert refused.status_code == 403, refused.text
    assert await desk.listing(to) == []


# --- the database keeps its guard ------------------------------------------------------------


async def test_the_database_still_refuses_editing_a_note_or_moving_it_outside_the_function(
    desk: Desk,
) -> None:
    m = member()
    one = await desk.tracker(m, [(10, "Kept as written.")])
    two = await desk.tracker(m, [(20, "Moved along.")])
    assert (await desk.consolidate(m, [one, two])).status_code == 200
    three = await desk.tracker(m, [(30, "Stays put.")])
    conversation = (await desk.conversations(one))[0]
    for statement, values in (
        ("UPDATE conversations SET text = 'edited' WHERE id = :id", {"id": conversation.id}),
        (
            "UPDATE conversations SET tracker_id = :to WHERE id = :id",
            {"id": conversation.id, "to": three},
        ),
        ("DELETE FROM conversation_relocations WHERE to_tracker_id = :to", {"to": one}),
        ("UPDATE tracker_consolidations SET moved = 0 WHERE to_tracker_id = :to", {"to": one}),
    ):
        with pytest.raises(DBAPIError):
            async with desk.sessions.begin() as session:
                await session.execute(text(statement), values)
    # The function checks the Trackers itself, whoever calls it.
    pc = await desk.tracker(m, [(40, "Private.")], tracker_type="PC", memo_type="PC")
    with pytest.raises(DBAPIError, match="cannot be consolidated"):
        async with desk.sessions.begin() as session:
            await session.execute(
                text("SELECT memberflow_relocate_conversations(:c, :f, :t, 'X')"),
                {"c": str(uuid.uuid4()), "f": pc, "t": one},
            )
    assert [c.text for c in await desk.conversations(one)] == ["Kept as written.", "Moved along."]
    assert [c.text for c in await desk.conversations(three)] == ["Stays put."]
