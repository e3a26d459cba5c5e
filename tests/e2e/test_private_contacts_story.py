"""The seed's story through the public interfaces only: Kafka in, HTTP and Kafka out.

Marty writes in; Sarah claims and replies, copying to the Tracker and flagging a follow-up for
John; Marty's messages show the reply; John is notified, finds it in his follow-ups and
completes it; Marty's Tracker holds the conversation. A second request gives a second
conversation in the same Tracker.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app
from tests.kafka_helpers import consume, contact_event, encoded, produce
from workers.app.demo.desk_client import DeskClient, DeskError
from workers.platform.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

MARTY = "880042"


def add_employee(
    app: RunningApp, employee_id: str, name: str, role: str, supervisor: str | None
) -> str:
    """``memberflow employees add`` as an operator would run it; returns the token."""
    args = [str(Path(sys.executable).parent / "memberflow"), "employees", "add", employee_id]
    args += ["--name", name, "--role", role] + (["--supervisor", supervisor] if supervisor else [])
    args += ["--department", "LOANS"]  # Marty writes to the loan department
    env = {**os.environ, "MEMBERFLOW_DATABASE_URL": app.settings.database.url}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]


@pytest_asyncio.fixture(loop_scope="session")
async def desk_app(base_settings: Settings, postgres_url: str) -> AsyncIterator[RunningApp]:
    """Bridge, worker and API on a free port."""
    port = free_port()
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("worker", "bridge", "api"), api_port=port
    ) as app:
        yield app


async def eventually(call: Any, what: str, timeout: float = 30.0) -> Any:
    """Poll until the call returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        result = await call()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_the_private_contacts_story(desk_app: RunningApp) -> None:
    app = desk_app
    base = f"http://127.0.0.1:{app.settings.api_port}"
    sarah = DeskClient(base, add_employee(app, "SR", "Sarah", "employee", "MG"))
    john = DeskClient(base, add_employee(app, "JD", "John", "employee", "MG"))
    try:
        # 1. Marty presses Contact Us.
        first = contact_event(
            member_id=MARTY,
            department="LOANS",
            subject="Auto loan payoff",
            message="Hi, what is the payoff on my auto loan? Please call me.",
            callback_phone="6165550199",
        )
        request_id = first["data"]["request_id"]
        await produce(
            app.bootstrap, app.topics.contact_requests, [(MARTY.encode(), encoded(first))]
        )

        # 2. Sarah's queue lists it.
        queue = await eventually(
            lambda: _listed(sarah, request_id), what="request in Sarah's queue"
        )
        assert queue["member_id"] == MARTY and queue["department"] == "LOANS"
        detail = await sarah.request(request_id)
        assert detail["message"].startswith("Hi, what is the payoff")
        assert detail["callback_method"] == "call"

        # 3. Sarah claims it: it leaves John's queue.
        claimed = await sarah.claim(request_id)
        assert claimed["state"] == "claimed" and claimed["claimed_by"] == "SR"
        assert request_id not in {r["request_id"] for r in await john.queue()}
        with pytest.raises(DeskError) as taken:
            await john.claim(request_id)
        assert taken.value.status == 409

        # 4. Sarah replies, copies to the Tracker and flags a follow-up for John.
        due = (date.today() + timedelta(days=3)).isoformat()
        answer = await sarah.reply(
            request_id,
            {
                "body": "Hi Marty, your payoff is $4,210.17. John from loans will call you.",
                "copy_to_tracker": True,
                "follow_up": {"assignee_employee_id": "JD", "due_on": due, "note": "Call Marty"},
            },
        )
        assert answer["state"] == "replied"
        assert answer["tracker_id"] and answer["conversation_id"] and answer["follow_up_id"]
        with pytest.raises(DeskError) as twice:
            await sarah.reply(request_id, {"body": "again"})
        assert twice.value.status == 409

        # 5. Marty's messages show the reply; member-messages.v1 carries it.
        messages = await sarah.messages(MARTY)
        assert [m["subject"] for m in messages] == ["RE: Auto loan payoff"]
        out = await consume(app.bootstrap, app.topics.member_messages, 1)
        assert out[0].key == MARTY.encode()
        event = out[0].json()
        assert event["type"] == "cu.member.message.v1"
        assert event["data"]["request_id"] == request_id
        assert event["data"]["body"].startswith("Hi Marty")

        # 6. employee-notifications.v1 tells John.
        notices = await consume(app.bootstrap, app.topics.employee_notifications, 1)
        assert notices[0].key == b"JD"
        notice = notices[0].json()
        assert notice["type"] == "cu.employee.followup-assigned.v1"
        assert notice["data"]["follow_up_id"] == answer["follow_up_id"]
        assert notice["data"]["employee_id"] == "JD"

        # 7. John's follow-ups list it.
        johns = await john.follow_ups()
        assert [f["id"] for f in johns] == [answer["follow_up_id"]]

        # 8. Marty's Tracker holds one conversation with both texts, then Sarah's word for
        # John in the follow-up's thread (newest first).
        trackers = await john.trackers(MARTY)
        assert len(trackers) == 1
        tracker = trackers[0]
        assert tracker["tracker_type"] == "PC"
        pair, word = tracker["conversations"][1], tracker["conversations"][0]
        assert len(tracker["conversations"]) == 2
        assert "payoff on my auto loan" in pair["text"] and "payoff is $4,210.17" in pair["text"]
        assert word["text"] == "Call Marty" and word["employee_id"] == "SR"

        # 9. John completes it and the Tracker shows that.
        await john.complete(answer["follow_up_id"], note="Called Marty, payoff confirmed.")
        assert await john.follow_ups() == []
        assert [f["id"] for f in await john.follow_ups(status="completed")] == [
            answer["follow_up_id"]
        ]
        tracker = (await john.trackers(MARTY))[0]
        statuses = [
            fu["status"] for conv in tracker["conversations"] for fu in conv.get("follow_ups", [])
        ]
        assert "completed" in statuses
        assert any("payoff confirmed" in conv["text"] for conv in tracker["conversations"])

        # 10. A second request from Marty: a second conversation in the same Tracker.
        second = contact_event(
            member_id=MARTY, subject="RE: Auto loan payoff", in_reply_to=request_id
        )
        second_id = second["data"]["request_id"]
        await produce(
            app.bootstrap, app.topics.contact_requests, [(MARTY.encode(), encoded(second))]
        )
        await eventually(lambda: _listed(sarah, second_id), what="second request")
        await sarah.claim(second_id)
        reply2 = await sarah.reply(second_id, {"body": "Glad we could help!"})
        trackers = await sarah.trackers(MARTY)
        assert len(trackers) == 1
        assert reply2["tracker_id"] == answer["tracker_id"]
        # Each request/reply pair is its own conversation (John's completion note is a third).
        pairs = [
            c for c in trackers[0]["conversations"] if c["text"].startswith("Private Contact ")
        ]
        assert [p["text"].count("Reply from SR") for p in pairs] == [1, 1]
        assert second_id in pairs[0]["text"] and request_id in pairs[1]["text"]
    finally:
        await sarah.close()
        await john.close()


async def _listed(desk: DeskClient, request_id: str) -> dict[str, Any] | None:
    for item in await desk.queue():
        if item["request_id"] == request_id:
            return item
    return None
