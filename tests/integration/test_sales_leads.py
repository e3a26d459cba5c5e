"""Sales leads on the real servers (``/sales-leads``): the list and its filters, each outcome
through ``FollowUpWorkflow``'s completion, every refusal, and the outcomes in the cross-sales
report.

Leads are opened the way the desk opens them (a Sales Tracker note with a follow-up, through
the API), so each has its ``FollowUpWorkflow`` running. Employees have ids of their own, so
other tests' leads (in the same database) never land in the lists checked here."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from contracts.platform.operations import DEFAULT_TIME_ZONE
from deploy.processes import free_port
from tests.integration.conftest import running_app
from workers.platform.audit import list_events
from workers.platform.employees import add_employee
from workers.platform.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SALE = {"tracker_type": "ST", "memo_type": "SL", "need_group": "BORROW", "task": "CCAPP"}
SAVE = {"tracker_type": "ST", "memo_type": "SL", "need_group": "SAVE", "task": "CERT"}
SERVICE = {"tracker_type": "MS", "memo_type": "MS"}


@dataclass
class Desk:
    """The API client and the cast: supervisor S over employees A and B; C reports to no one."""

    http: httpx.AsyncClient
    tokens: dict[str, str]
    s: str
    a: str
    b: str
    c: str

    def auth(self, who: str) -> dict[str, str]:
        """The bearer header of employee ``who``."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def desk(base_settings: Settings, postgres_url: str) -> AsyncIterator[tuple[Desk, Any]]:
    """Worker and API on fresh topics, and the cast with tokens."""
    port = free_port()
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("worker", "api"), api_port=port
    ) as app:
        sessions = app.services.session_factory
        tag = uuid.uuid4().hex[:5].upper()
        s, a, b, c = f"LS{tag}", f"LA{tag}", f"LB{tag}", f"LC{tag}"
        tokens = {
            s: await add_employee(sessions, s, "Sam Supervisor", "supervisor"),
            a: await add_employee(sessions, a, "Ann Seller", "employee", s),
            b: await add_employee(sessions, b, "Ben Seller", "employee", s),
            c: await add_employee(sessions, c, "Cat Other", "employee"),
        }
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1") as http:
            yield Desk(http, tokens, s, a, b, c), app


def local_today() -> date:
    return datetime.now(ZoneInfo(DEFAULT_TIME_ZONE)).date()


async def open_lead(
    desk: Desk, assignee: str, due_on: date, kind: dict[str, str] = SALE, text: str = "Lead."
) -> dict[str, Any]:
    """A note with a follow-up for ``assignee``, written by the assignee; the API's answer."""
    member = str(random.randint(10**8, 10**9 - 1))
    body = {
        **kind,
        "text": text,
        "follow_up": {"assignee_employee_id": assignee, "due_on": due_on.isoformat()},
    }
    headers = {**desk.auth(assignee), "Idempotency-Key": uuid.uuid4().hex}
    written = await desk.http.post(
        f"/members/{member}/trackers/conversations", json=body, headers=headers
    )
    assert written.status_code == 200, written.text
    answer: dict[str, Any] = written.json()
    answer["member_id"] = member
    return answer


async def leads(desk: Desk, who: str, **params: Any) -> httpx.Response:
    response: httpx.Response = await desk.http.get(
        "/sales-leads", params=params, headers=desk.auth(who)
    )
    return response


async def outcome(desk: Desk, who: str, follow_up_id: str, body: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = await desk.http.post(
        f"/sales-leads/{follow_up_id}/outcome", json=body, headers=desk.auth(who)
    )
    return response


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [lead["follow_up_id"] for lead in response.json()["items"]]


# --- the list ------------------------------------------------------------------------------------


async def test_the_list_holds_open_leads_with_task_and_conversation(
    desk: tuple[Desk, Any],
) -> None:
    d, app = desk
    today = local_today()
    soon = await open_lead(d, d.a, today + timedelta(days=3), text="Wants a card.")
    later = await open_lead(d, d.a, today + timedelta(days=10), SAVE, "Asked about rates.")
    late = await open_lead(d, d.a, today - timedelta(days=2))
    service = await open_lead(d, d.a, today + timedelta(days=1), SERVICE)
    theirs = await open_lead(d, d.b, today + timedelta(days=1))

    mine = await leads(d, d.a)
    assert ids(mine) == [late["follow_up_id"], soon["follow_up_id"], later["follow_up_id"]]
    assert service["follow_up_id"] not in ids(mine), "an MS follow-up is not a lead"
    first = mine.json()["items"][1]
    assert first == {
        "follow_up_id": soon["follow_up_id"],
        "member_id": soon["member_id"],
        "tracker_id": soon["tracker_id"],
        "tracker_type": "ST",
        "conversation_id": soon["conversation_id"],
        "need_group": {"code": "BORROW", "description": "Borrowing: loans and credit"},
        "task": {
            "code": "CCAPP",
            "description": "Credit card application",
            "next_suggested_product": True,
        },
        "due_on": (today + timedelta(days=3)).isoformat(),
        "status": "outstanding",
        "assignee_employee_id": d.a,
        "assigned_by": d.a,
        "text": "Wants a card.",
        "outcome": None,
        "completed_at": None,
        "completed_by": None,
    }
    assert mine.json()["items"][0]["status"] == "overdue"
    assert mine.json()["items"][2]["task"]["next_suggested_product"] is True  # CERT is NSP

    assert ids(await leads(d, d.a, task="CERT")) == [later["follow_up_id"]]
    assert ids(await leads(d, d.a, overdue="true")) == [late["follow_up_id"]]
    due_by = (today + timedelta(days=3)).isoformat()
    assert ids(await leads(d, d.a, due_by=due_by)) == [late["follow_up_id"], soon["follow_up_id"]]

    # The supervisor: one employee's leads, or everyone's.
    assert ids(await leads(d, d.s, assignee=d.a)) == ids(mine)
    everyone = ids(await leads(d, d.s, assignee="*", limit=500))
    assert {theirs["follow_up_id"], *ids(mine)} <= set(everyone)

    # Every read of the list is in the access trail.
    events = await list_events(app.services.session_factory, employee_id=d.a)
    assert ("sales-leads.read", 200) in [(e.action, e.status) for e in events]


async def test_paging_walks_every_lead_once(desk: tuple[Desk, Any]) -> None:
    d, _ = desk
    today = local_today()
    opened = [
        (await open_lead(d, d.b, today + timedelta(days=20 + i)))["follow_up_id"] for i in range(3)
    ]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2, "due_by": (today + timedelta(days=30)).isoformat()}
        page = await leads(d, d.b, **params, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [i for i in seen if i in opened] == opened
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("who", "params", "status", "detail"),
    [
        ("a", {"assignee": "b"}, 403, "may not list these sales leads"),
        ("a", {"assignee": "*"}, 403, "may not list these sales leads"),
        ("c", {"assignee": "a"}, 403, "may not list these sales leads"),
        ("a", {"task": "NOPE"}, 422, "task must be one of AUTOLOAN, CCAPP, CERT"),
        ("a", {"cursor": "bm90IGEgY3Vyc29y"}, 422, "cursor is not one this API handed out"),
        ("a", {"limit": 0}, 422, "limit"),
        ("a", {"due_by": "2100-01-01"}, 422, "due_by"),
    ],
)
async def test_list_refusals(
    desk: tuple[Desk, Any], who: str, params: dict[str, str], status: int, detail: str
) -> None:
    d, _ = desk
    cast = {"a": d.a, "b": d.b, "c": d.c}
    asked = {k: cast.get(v, v) if k == "assignee" else v for k, v in params.items()}
    refused = await leads(d, cast[who], **asked)
    assert refused.status_code == status, refused.text
    assert detail in str(refused.json()["detail"])


# --- outcomes ------------------------------------------------------------------------------------


async def thread_of(d: Desk, follow_up_id: str) -> dict[str, Any]:
    response = await d.http.get(f"/follow-ups/{follow_up_id}", headers=d.auth(d.s))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize(
    ("value", "words"),
    [("contacted", "contacted"), ("processed", "processed"), ("not_interested", "not interested")],
)
async def test_each_outcome_completes_the_lead_and_lands_in_the_tracker(
    desk: tuple[Desk, Any], value: str, words: str
) -> None:
    d, _ = desk
    lead = await open_lead(d, d.a, local_today() + timedelta(days=2))
    follow_up_id = lead["follow_up_id"]
    done = await outcome(d, d.a, follow_up_id, {"outcome": value, "note": "Spoke on the phone."})
    assert done.status_code == 200, done.text
    answer = done.json()
    assert (answer["status"], answer["outcome"], answer["completed_by"]) == (
        "completed",
        value,
        d.a,
    )
    thread = await thread_of(d, follow_up_id)
    closing = thread["thread"]["conversations"][-1]
    assert closing["text"] == (
        f"Follow-up completed by {d.a}.\nSales lead outcome: {words}.\nSpoke on the phone."
    )
    assert (closing["need_group"], closing["task"], closing["memo_type"]) == (
        "BORROW",
        "CCAPP",
        "SL",
    )
    assert follow_up_id not in ids(await leads(d, d.a))


async def test_a_retry_of_the_same_outcome_writes_once(desk: tuple[Desk, Any]) -> None:
    d, app = desk
    lead = await open_lead(d, d.a, local_today() + timedelta(days=2))
    follow_up_id = lead["follow_up_id"]
    body = {"outcome": "processed"}
    # Two tries at once (a client retrying while the first is in flight), then one more.
    first, second = await asyncio.gather(
        outcome(d, d.a, follow_up_id, body), outcome(d, d.a, follow_up_id, body)
    )
    third = await outcome(d, d.a, follow_up_id, body)
    assert first.status_code == second.status_code == third.status_code == 200, second.text
    assert first.json() == second.json() == third.json()
    notes = (await thread_of(d, follow_up_id))["thread"]["conversations"]
    assert len(notes) == 2, "the lead's note and one closing note"
    other = await outcome(d, d.a, follow_up_id, {"outcome": "not_interested"})
    assert other.status_code == 409, other.text
    assert "already completed with outcome processed" in other.json()["detail"]
    events = await list_events(app.services.session_factory, member_id=lead["member_id"])
    assert (events[0].action, events[0].record_id, events[0].status) == (
        "sales-lead.outcome",
        follow_up_id,
        409,
    )


async def test_a_supervisor_records_their_reports_outcome(desk: tuple[Desk, Any]) -> None:
    d, _ = desk
    lead = await open_lead(d, d.b, local_today() + timedelta(days=2))
    done = await outcome(d, d.s, lead["follow_up_id"], {"outcome": "contacted"})
    assert done.status_code == 200, done.text
    assert (done.json()["completed_by"], done.json()["assignee_employee_id"]) == (d.s, d.b)


async def test_outcome_refusals(desk: tuple[Desk, Any]) -> None:
    d, _ = desk
    today = local_today()
    service = await open_lead(d, d.a, today + timedelta(days=2), SERVICE)
    refused = await outcome(d, d.a, service["follow_up_id"], {"outcome": "contacted"})
    assert refused.status_code == 409, refused.text
    assert "is not a sales lead" in refused.json()["detail"]

    lead = (await open_lead(d, d.a, today + timedelta(days=2)))["follow_up_id"]
    for who in (d.b, d.c):
        assert (await outcome(d, who, lead, {"outcome": "contacted"})).status_code == 403
    for bad in ({"outcome": "sold"}, {}, {"outcome": "contacted", "extra": 1}):
        answer = await outcome(d, d.a, lead, bad)
        assert answer.status_code == 422, answer.text
    assert (await outcome(d, d.a, "no-such-lead", {"outcome": "contacted"})).status_code == 404

    # Completed without an outcome (the follow-up route): no outcome can be recorded after.
    completed = await d.http.post(f"/follow-ups/{lead}/complete", json={}, headers=d.auth(d.a))
    assert completed.status_code == 200, completed.text
    late = await outcome(d, d.a, lead, {"outcome": "contacted"})
    assert late.status_code == 409, late.text
    assert late.json()["detail"] == f"follow-up {lead} is already completed"


async def test_outcomes_are_counted_in_the_cross_sales_report(desk: tuple[Desk, Any]) -> None:
    d, _ = desk
    today = local_today()
    for value in ("contacted", "contacted", "processed", "not_interested"):
        lead = await open_lead(d, d.c, today + timedelta(days=2))
        done = await outcome(d, d.c, lead["follow_up_id"], {"outcome": value})
        assert done.status_code == 200, done.text
    await open_lead(d, d.c, today + timedelta(days=2))  # still open: no outcome
    period = {
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }
    report = await d.http.get("/reports/cross-sales", params=period, headers=d.auth(d.s))
    assert report.status_code == 200, report.text
    (row,) = [r for r in report.json()["items"] if r["employee_id"] == d.c]
    assert row == {
        "employee_id": d.c,
        "need_group": "BORROW",
        "task": "CCAPP",
        # The five leads' notes and the four closing notes (written on the Sales Tracker).
        "sales_notes": 9,
        "follow_ups_opened": 5,
        "follow_ups_completed": 4,
        "contacted": 2,
        "processed": 1,
        "not_interested": 1,
    }


async def test_the_store_holds_only_known_outcomes_on_completed_follow_ups(
    desk: tuple[Desk, Any],
) -> None:
    d, app = desk
    lead = (await open_lead(d, d.a, local_today() + timedelta(days=2)))["follow_up_id"]
    statements = (
        "UPDATE follow_ups SET outcome = 'contacted' WHERE id = :id",  # still outstanding
        "UPDATE follow_ups SET status = 'completed', outcome = 'sold' WHERE id = :id",
    )
    for statement in statements:
        with pytest.raises(IntegrityError, match="ck_follow_ups_outcome"):
            async with app.services.session_factory.begin() as session:
                await session.execute(text(statement), {"id": lead})
