"""The desk API's rules on real servers: tokens, conflicts, permissions, invalid input."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app, submitted
from tests.kafka_helpers import consume
from workers.app.api import create_app
from workers.app.demo.desk_client import DeskClient, DeskError
from workers.app.ops import snapshot
from workers.platform.employees import add_employee
from workers.platform.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LOANS = ["LOANS"]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def desk(base_settings: Settings, postgres_url: str) -> AsyncIterator[dict[str, Any]]:
    """The API with four employees (SR, JD and KT under supervisor MG) and their clients.

    All work LOANS, the department of the requests submitted here. Follow-ups here go to KT:
    the e2e story shares this database and expects JD to have none.
    """
    port = free_port()
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("worker", "bridge", "api"), api_port=port
    ) as app:
        sessions = app.services.session_factory
        base = f"http://127.0.0.1:{port}"
        tokens = {
            "MG": await add_employee(sessions, "MG", "Maria", "supervisor", departments=LOANS),
            "SR": await add_employee(sessions, "SR", "Sarah", "employee", "MG", departments=LOANS),
            "JD": await add_employee(sessions, "JD", "John", "employee", "MG", departments=LOANS),
            "KT": await add_employee(sessions, "KT", "Kate", "employee", "MG", departments=LOANS),
        }
        clients = {who: DeskClient(base, token) for who, token in tokens.items()}
        yield {"app": app, "base": base, "tokens": tokens, **clients}
        for client in clients.values():
            await client.close()


async def test_missing_or_invalid_token_is_401(desk: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=desk["base"]) as http:
        missing = await http.get("/api/v1/contact-requests")
        invalid = await http.get(
            "/api/v1/contact-requests", headers={"Authorization": "Bearer nope"}
        )
    assert missing.status_code == 401 and missing.json()["detail"] == "missing bearer token"
    assert invalid.status_code == 401
    assert invalid.json()["detail"] == "invalid or expired bearer token"


async def test_openapi_document_is_served(desk: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=desk["base"]) as http:
        document = (await http.get("/openapi.json")).json()
    assert "/api/v1/contact-requests/{request_id}/reply" in document["paths"]
    assert "/api/v1/follow-ups/{follow_up_id}/complete" in document["paths"]


async def test_unknown_request_is_404(desk: dict[str, Any]) -> None:
    with pytest.raises(DeskError) as caught:
        await desk["SR"].claim("no-such-request")
    assert caught.value.status == 404
    assert "not found" in caught.value.detail


async def test_two_employees_claiming_at_once_exactly_one_wins(desk: dict[str, Any]) -> None:
    request_id = await submitted(desk["app"], desk["SR"])
    results = await asyncio.gather(
        desk["SR"].claim(request_id), desk["JD"].claim(request_id), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if isinstance(r, DeskError)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].status == 409
    assert "claimed by" in losers[0].detail
    detail = await desk["SR"].request(request_id)
    assert detail["claimed_by"] == winners[0]["claimed_by"]


async def test_release_puts_it_back_and_only_the_claimant_may(desk: dict[str, Any]) -> None:
    request_id = await submitted(desk["app"], desk["SR"])
    await desk["SR"].claim(request_id)
    with pytest.raises(DeskError) as caught:
        await desk["JD"].release(request_id)
    assert caught.value.status == 403
    released = await desk["SR"].release(request_id)
    assert released["state"] == "queued" and released["claimed_by"] is None
    assert request_id in {r["request_id"] for r in await desk["JD"].queue()}


async def test_delete_writes_no_tracker(desk: dict[str, Any]) -> None:
    request_id = await submitted(desk["app"], desk["SR"], member_id="66001")
    with pytest.raises(DeskError) as unclaimed:
        await desk["SR"].delete(request_id)  # deleting needs the caller's claim
    assert unclaimed.value.status == 403
    await desk["SR"].claim(request_id)
    deleted = await desk["SR"].delete(request_id)
    assert deleted["state"] == "deleted"
    assert await desk["SR"].trackers("66001") == []
    with pytest.raises(DeskError) as caught:
        await desk["SR"].reply(request_id, {"body": "too late"})
    assert caught.value.status == 409


async def test_unknown_assignee_is_422_and_nothing_is_written(desk: dict[str, Any]) -> None:
    request_id = await submitted(desk["app"], desk["SR"], member_id="66002")
    await desk["SR"].claim(request_id)
    due = (date.today() + timedelta(days=1)).isoformat()
    with pytest.raises(DeskError) as caught:
        await desk["SR"].reply(
            request_id,
            {"body": "hello", "follow_up": {"assignee_employee_id": "ZZ", "due_on": due}},
        )
    assert caught.value.status == 422
    assert "ZZ is not a known employee" in caught.value.detail
    assert (await desk["SR"].request(request_id))["state"] == "claimed"
    assert await desk["SR"].messages("66002") == []
    assert await desk["SR"].trackers("66002") == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "body: Field required"),
        ({"body": ""}, "body: String should have at least 1 character"),
        ({"body": "x", "follow_up": {"assignee_employee_id": "JD"}}, "follow_up.due_on"),
        ({"body": "x", "unexpected": 1}, "unexpected: Extra inputs are not permitted"),
        # What PostgreSQL or the follow-up's deadline arithmetic would refuse much later.
        ({"body": "card\x00"}, "body: Value error, must not contain NUL"),
        (
            {"body": "x", "follow_up": {"assignee_employee_id": "JD", "due_on": "9999-12-31"}},
            "follow_up.due_on: Value error, must be between",
        ),
    ],
)
async def test_invalid_reply_bodies_are_422_with_a_readable_detail(
    desk: dict[str, Any], body: dict[str, Any], fragment: str
) -> None:
    async with httpx.AsyncClient(
        base_url=desk["base"], headers={"Authorization": f"Bearer {desk['tokens']['SR']}"}
    ) as http:
        response = await http.post("/api/v1/contact-requests/anything/reply", json=body)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


async def test_bad_queue_filters_are_422(desk: dict[str, Any]) -> None:
    for params in ({"state": "lost"}, {"department": "MORTGAGE"}):
        with pytest.raises(DeskError) as caught:
            await desk["SR"]._call("GET", "/contact-requests", params=params)
        assert caught.value.status == 422


async def _follow_up_for(desk: dict[str, Any], assignee: str, member_id: str) -> str:
    request_id = await submitted(desk["app"], desk["SR"], member_id=member_id)
    await desk["SR"].claim(request_id)
    due = (date.today() + timedelta(days=2)).isoformat()
    answer = await desk["SR"].reply(
        request_id,
        {"body": "We will call", "follow_up": {"assignee_employee_id": assignee, "due_on": due}},
    )
    follow_up_id: str = answer["follow_up_id"]
    return follow_up_id


async def test_completing_someone_elses_follow_up_is_403_unless_supervisor(
    desk: dict[str, Any],
) -> None:
    follow_up_id = await _follow_up_for(desk, "KT", "66003")
    with pytest.raises(DeskError) as caught:
        await desk["SR"].complete(follow_up_id)
    assert caught.value.status == 403
    done = await desk["MG"].complete(follow_up_id, note="Closed by supervisor")
    assert done["status"] == "completed" and done["completed_by"] == "MG"
    with pytest.raises(DeskError) as again:
        await desk["KT"].complete(follow_up_id)
    assert again.value.status == 409


async def test_reassign_notifies_the_new_assignee_and_keeps_history(desk: dict[str, Any]) -> None:
    app: RunningApp = desk["app"]
    follow_up_id = await _follow_up_for(desk, "KT", "66004")
    with pytest.raises(DeskError) as unknown:
        await desk["KT"].reassign(follow_up_id, "ZZ")
    assert unknown.value.status == 422
    moved = await desk["KT"].reassign(follow_up_id, "SR", note="Sarah knows this member")
    assert moved["assignee_employee_id"] == "SR"
    history = moved["thread"]["history"]
    assert [(h["from_employee_id"], h["to_employee_id"]) for h in history] == [("KT", "SR")]
    notices = await consume(app.bootstrap, app.topics.employee_notifications, 50, timeout=10)
    reassigned = [
        n.json()
        for n in notices
        if n.json()["type"] == "cu.employee.followup-reassigned.v1"
        and n.json()["data"]["follow_up_id"] == follow_up_id
    ]
    assert [n["data"]["employee_id"] for n in reassigned] == ["SR"]


async def test_note_with_next_follow_up_completes_this_one_and_opens_another(
    desk: dict[str, Any],
) -> None:
    follow_up_id = await _follow_up_for(desk, "KT", "66005")
    due = (date.today() + timedelta(days=7)).isoformat()
    answer = await desk["KT"].add_note(
        follow_up_id,
        {
            "note": "Left a voicemail",
            "next_follow_up": {"assignee_employee_id": "SR", "due_on": due},
        },
    )
    assert answer["status"] == "completed"
    next_id = answer["note_result"]["next_follow_up_id"]
    assert next_id
    assert next_id in {f["id"] for f in await desk["SR"].follow_ups()}


async def test_overdue_follows_the_credit_unions_local_date(desk: dict[str, Any]) -> None:
    """At 23:30 in Chicago on the due date (already the next day in UTC) a follow-up is not
    overdue on any route or in ``memberflow ops``; the next local morning it is."""
    app: RunningApp = desk["app"]
    zone = ZoneInfo("America/Chicago")
    due = date(2032, 6, 9)  # no other test uses this period, so the report's figures are ours
    late_evening = datetime(2032, 6, 9, 23, 30, tzinfo=zone)
    next_morning = datetime(2032, 6, 10, 8, 0, tzinfo=zone)
    employee, member = f"Z{random.getrandbits(24):06x}", "66006"
    await add_employee(app.services.session_factory, employee, "Zoe", "employee", "MG")
    request_id = await submitted(app, desk["SR"], member_id=member)
    await desk["SR"].claim(request_id)
    answer = await desk["SR"].reply(
        request_id,
        {
            "body": "We will call",
            "follow_up": {"assignee_employee_id": employee, "due_on": str(due)},
        },
    )
    follow_up_id = answer["follow_up_id"]
    chicago = app.services.ops.model_copy(update={"time_zone": "America/Chicago"})
    services = replace(app.services, ops=chicago)

    async def seen_at(now: datetime) -> tuple[set[str], list[str], int, int]:
        """Statuses on every route, the overdue list, and the report's and ops' overdue."""
        api = create_app(services, clock=lambda: now)
        # MG: another employee's queue and the report are for their supervisor.
        headers = {"Authorization": f"Bearer {desk['tokens']['MG']}"}
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:

            async def get(path: str, **params: str) -> Any:
                response = await http.get(f"/api/v1{path}", params=params, headers=headers)
                assert response.status_code == 200, response.text
                return response.json()

            listed = await get("/follow-ups", assignee=employee, status="all")
            overdue = await get("/follow-ups", assignee=employee, status="overdue")
            one = await get(f"/follow-ups/{follow_up_id}")
            trackers = await get(f"/members/{member}/trackers")
            report = await get("/reports/follow-ups", **{"from": str(due), "to": str(due)})
        statuses = {one["status"], *(f["status"] for f in listed["items"])}
        for tracker in trackers["items"]:
            for conversation in tracker["conversations"]:
                statuses |= {f["status"] for f in conversation["follow_ups"]}
        (mine,) = [r for r in report["items"] if r["employee_id"] == employee]
        ops_view = await snapshot(
            app.settings, app.services.temporal, app.services.session_factory, chicago, now=now
        )
        overdue_ids = [f["id"] for f in overdue["items"]]
        return statuses, overdue_ids, mine["overdue"], ops_view.overdue_follow_ups.get(employee, 0)

    assert late_evening.astimezone(UTC).date() > due  # the case a UTC date gets wrong
    assert await seen_at(late_evening) == ({"outstanding"}, [], 0, 0)
    assert await seen_at(next_morning) == ({"overdue"}, [follow_up_id], 1, 1)


async def test_the_follow_up_note_of_a_reply_is_in_the_follow_ups_thread(
    desk: dict[str, Any],
) -> None:
    """The assignee reads the word the replying employee left with the follow-up."""
    request_id = await submitted(desk["app"], desk["SR"], member_id="66009")
    await desk["SR"].claim(request_id)
    due = (date.today() + timedelta(days=2)).isoformat()
    follow_up = {"assignee_employee_id": "KT", "due_on": due, "note": "Call before noon"}
    answer = await desk["SR"].reply(request_id, {"body": "We will call", "follow_up": follow_up})
    thread = (await desk["KT"].follow_up(answer["follow_up_id"]))["thread"]
    texts = [c["text"] for c in thread["conversations"]]
    assert len(texts) == 2 and texts[1] == "Call before noon"
    assert thread["conversations"][1]["employee_id"] == "SR"
