"""Tracker purges on the real servers: verify and confirm, kept follow-up threads, idempotent
confirm, the API's refusals (409, 422, 403, 404). The guard itself: ``test_tracker_purge_guard``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text

from contracts.trackers.purge import PurgeCriteria
from tests.integration.purge_world import (
    ADMIN,
    CLERK,
    Purges,
    day,
    member,
    noon,
    only,
    purges_app,
)
from workers.platform.audit import list_events
from workers.platform.errors import ConflictError
from workers.platform.settings import Settings
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers
from workers.trackers.purge_store import confirm_purge, get_purge, verify_purge
from workers.trackers.tables import ConversationRow, FollowUpRow, TrackerRow

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def purges(base_settings: Settings, postgres_url: str) -> AsyncIterator[Purges]:
    """A worker, the API in process, an admin and an employee."""
    async with purges_app(base_settings, postgres_url) as running:
        yield running


# --- verify and confirm --------------------------------------------------------------------------


async def test_verify_reports_and_confirm_deletes_exactly_that(purges: Purges) -> None:
    on = day()
    emptied = member()
    first = await purges.note(emptied, on, new_tracker=True)
    await purges.note(emptied, on)
    await purges.note(emptied, on, memo="FU")
    alone = await purges.note(member(), on)
    later = await purges.note(member(), on, at=noon(on) + timedelta(days=1))  # not selected
    await purges.note(member(), on, tracker_type="AT", memo="CW")  # AT: never purged

    verified = await purges.http.post("/tracker-purges", json=only(on), headers=purges.as_(ADMIN))
    assert verified.status_code == 200, verified.text
    report = verified.json()
    assert report["state"] == "verified"
    assert report["counts"] == [
        {"tracker_type": "MS", "memo_type": "FU", "conversations": 1},
        {"tracker_type": "MS", "memo_type": "MS", "conversations": 3},
    ]
    assert (report["conversations"], report["trackers_emptied"]) == (4, 2)
    assert (report["kept_open_follow_up"], report["kept_thread_outside"]) == (0, 0)
    assert await purges.exists(ConversationRow, first.conversation_id)  # verify deletes nothing

    purge_id = report["purge_id"]
    confirmed = await purges.http.post(
        f"/tracker-purges/{purge_id}/confirm", headers=purges.as_(ADMIN)
    )
    assert confirmed.status_code == 200, confirmed.text
    done = confirmed.json()
    assert done["state"] == "confirmed" and done["confirmed_by"] == ADMIN
    assert (done["conversations_deleted"], done["trackers_deleted"]) == (4, 2)
    assert done["counts"] == report["counts"]
    for gone in (first, alone):
        assert not await purges.exists(ConversationRow, gone.conversation_id)
        assert not await purges.exists(TrackerRow, gone.tracker_id)
    assert await purges.exists(ConversationRow, later.conversation_id)

    again = await purges.http.post(f"/tracker-purges/{purge_id}/confirm", headers=purges.as_(ADMIN))
    assert again.status_code == 200 and again.json() == done  # a retry deletes nothing twice
    trail = await list_events(purges.sessions, employee_id=ADMIN, limit=50)
    mine = [(e.action, e.status) for e in trail if e.record_id == purge_id]
    assert mine == [
        ("tracker-purge.confirm", 200),
        ("tracker-purge.confirm", 200),
        ("tracker-purge.verify", 200),
    ]


async def test_a_memo_type_criterion(purges: Purges) -> None:
    on = day()
    m = member()
    await purges.note(m, on)
    fu = await purges.note(m, on, memo="FU")
    report = await verify_purge(
        purges.sessions,
        purges.ops,
        PurgeCriteria(memo_types=["FU"], created_from=on, created_to=on),
        by="T",
    )
    assert report.purge_types == ["MS"]
    assert [(c.memo_type, c.conversations) for c in report.counts] == [("FU", 1)]
    assert report.trackers_emptied == 0  # the MS note stays in that Tracker
    done = await confirm_purge(purges.sessions, purges.ops, report.purge_id, by="T")
    assert (done.conversations_deleted, done.trackers_deleted) == (1, 0)
    assert not await purges.exists(ConversationRow, fu.conversation_id)


async def test_an_open_follow_up_keeps_its_whole_thread(purges: Purges) -> None:
    on = day()
    m = member()
    opened_on = await purges.note(m, on, new_tracker=True)
    follow_up = await purges.follow_up(opened_on, on)
    in_thread = await purges.note(m, on, thread_id=follow_up.thread_id)
    await followups.reassign_follow_up(
        purges.sessions,
        follow_up.id,
        to_employee_id="SR",
        by_employee_id="MG",
        idempotency_key=f"purge-re-{uuid.uuid4()}",
        at=noon(on),
        today=on,
    )
    unrelated = await purges.note(member(), on)
    # A completed follow-up whose thread goes on after the day purged: kept whole too.
    reaching = await purges.note(member(), on, new_tracker=True)
    closed = await purges.follow_up(reaching, on)
    await followups.complete_follow_up(
        purges.sessions, closed.id, by_employee_id="MG", idempotency_key=str(uuid.uuid4()), today=on
    )
    await trackers.append_conversation(
        purges.sessions,
        purges.ops,
        member_id=member(),
        tracker_type="MS",
        memo_type="FU",
        employee_id="MG",
        text="Called back.",
        idempotency_key=f"purge-note-{uuid.uuid4()}",
        thread_id=closed.thread_id,
        at=noon(on) + timedelta(days=3),
    )

    first = await verify_purge(
        purges.sessions, purges.ops, PurgeCriteria.model_validate(only(on)), by="T"
    )
    assert first.conversations == 1  # only the unrelated note
    assert (first.kept_open_follow_up, first.kept_thread_outside) == (2, 1)

    await followups.complete_follow_up(
        purges.sessions,
        follow_up.id,
        by_employee_id="MG",
        idempotency_key=str(uuid.uuid4()),
        today=on,
    )
    second = await verify_purge(
        purges.sessions, purges.ops, PurgeCriteria.model_validate(only(on)), by="T"
    )
    assert second.conversations == 3
    assert (second.kept_open_follow_up, second.kept_thread_outside) == (0, 1)
    done = await confirm_purge(purges.sessions, purges.ops, second.purge_id, by="T", chunk_size=1)
    assert done.conversations_deleted == 3
    for gone in (opened_on, in_thread, unrelated):
        assert not await purges.exists(ConversationRow, gone.conversation_id)
    # The thread's follow-up and its reassignment event went with it; the other thread stayed.
    assert not await purges.exists(FollowUpRow, follow_up.id)
    async with purges.sessions() as session:
        events = await session.scalar(
            text("SELECT count(*) FROM follow_up_events WHERE follow_up_id = :f"),
            {"f": follow_up.id},
        )
    assert events == 0
    assert await purges.exists(FollowUpRow, closed.id)
    assert await purges.exists(ConversationRow, reaching.conversation_id)


async def test_confirm_refuses_when_a_follow_up_opened_since_verify(purges: Purges) -> None:
    on = day()
    ref = await purges.note(member(), on)
    report = await verify_purge(
        purges.sessions, purges.ops, PurgeCriteria.model_validate(only(on)), by="T"
    )
    await purges.follow_up(ref, on)
    refused = await purges.http.post(
        f"/tracker-purges/{report.purge_id}/confirm", headers=purges.as_(ADMIN)
    )
    assert refused.status_code == 409, refused.text
    assert "changed since it was verified" in refused.json()["detail"]
    assert await purges.exists(ConversationRow, ref.conversation_id)
    assert (await get_purge(purges.sessions, report.purge_id)).state == "verified"


async def test_a_confirm_cut_short_is_finished_by_the_next_one(purges: Purges) -> None:
    on = day()
    m = member()
    refs = [await purges.note(m, on) for _ in range(7)]
    report = await verify_purge(
        purges.sessions, purges.ops, PurgeCriteria.model_validate(only(on)), by="T"
    )

    def crash(walked: int) -> None:
        raise RuntimeError(f"worker lost after {walked}")

    with pytest.raises(RuntimeError):
        await confirm_purge(
            purges.sessions, purges.ops, report.purge_id, by="T", chunk_size=3, progress=crash
        )
    async with purges.sessions() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(ConversationRow)
            .where(ConversationRow.tracker_id == refs[0].tracker_id)
        )
    assert left == 4
    half = await get_purge(purges.sessions, report.purge_id)
    assert (half.state, half.conversations_deleted) == ("verified", 3)
    done = await confirm_purge(purges.sessions, purges.ops, report.purge_id, by="T", chunk_size=3)
    assert (done.state, done.conversations, done.conversations_deleted) == ("confirmed", 7, 7)
    assert done.trackers_deleted == 1
    assert await confirm_purge(purges.sessions, purges.ops, report.purge_id, by="T") == done


# --- refusals -------------------------------------------------------------------------------------


async def test_refusals(purges: Purges) -> None:
    on = day()
    admin = purges.as_(ADMIN)
    empty = await purges.http.post("/tracker-purges", json={}, headers=admin)
    assert empty.status_code == 422, empty.text
    assert "at least one criterion" in empty.json()["detail"]
    notices = await purges.http.post(
        "/tracker-purges", json={"tracker_types": ["NT"], "created_to": str(on)}, headers=admin
    )
    assert notices.status_code == 409, notices.text
    assert "Tracker type NT does not allow purging" in notices.json()["detail"]
    unknown = await purges.http.post(
        "/tracker-purges", json={"tracker_types": ["QQ"]}, headers=admin
    )
    assert unknown.status_code == 422, unknown.text
    clerk = await purges.http.post("/tracker-purges", json=only(on), headers=purges.as_(CLERK))
    assert clerk.status_code == 403, clerk.text
    assert "may not purge Trackers; allowed: admin" in clerk.json()["detail"]
    missing = await purges.http.post(f"/tracker-purges/{uuid.uuid4()}/confirm", headers=admin)
    assert missing.status_code == 404, missing.text
    report = await verify_purge(
        purges.sessions, purges.ops, PurgeCriteria.model_validate(only(on)), by="T"
    )
    denied = await purges.http.post(
        f"/tracker-purges/{report.purge_id}/confirm", headers=purges.as_(CLERK)
    )
    assert denied.status_code == 403, denied.text
    # A type that stopped allowing purges between verify and confirm.
    strict = purges.ops.model_copy(
        update={
            "tracker_types": [
                t.model_copy(update={"allow_purge": False}) for t in purges.ops.tracker_types
            ]
        }
    )
    with pytest.raises(ConflictError, match="does not allow purging any more"):
        await confirm_purge(purges.sessions, strict, report.purge_id, by="T")
    statuses = {
        (e.action, e.status)
        for e in await list_events(purges.sessions, employee_id=ADMIN, limit=100)
    }
    assert {("tracker-purge.verify", 409), ("tracker-purge.confirm", 404)} <= statuses
    assert ("tracker-purge.verify", 403) in {
        (e.action, e.status) for e in await list_events(purges.sessions, employee_id=CLERK)
    }
