"""Member data stays out of Temporal, logs and notifications (docs/security.md).

The story with every kind of member text: a request with a message and a callback phone, a reply
copied to the Tracker with a follow-up note, a note that opens the next follow-up, a completion
note. Then: every workflow's raw history (read with a client that has no codec) holds none of
those texts, while the codec server gives them back to an employee and refuses anyone else; the
member's workflows are found by ``MemberKey`` and no search attribute or id holds the member
number; no log line (at DEBUG, every logger) and no ``employee-notifications.v1`` record holds any
of the texts.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowExecutionStatus

from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app
from tests.kafka_helpers import consume, contact_event, encoded, produce
from workers.app.codec_server import create_codec_app, database_access
from workers.app.demo.desk_client import DeskClient
from workers.app.ops import member_workflows
from workers.platform.audit import AuditAction, list_events
from workers.platform.employees import add_employee
from workers.platform.logs import configure_logging
from workers.platform.member_search import member_search_key
from workers.platform.payload_codec import EncryptionCodec, load_keys
from workers.platform.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

TAG = uuid.uuid4().hex[:8]
MEMBER = str(random.randint(10**8, 10**9 - 1))
TEXTS = {
    "message": f"Zebra-{TAG} please ring me about the overdraft on my savings",
    "phone": f"616555{random.randint(1000, 9999)}",
    "reply": f"Quartz-{TAG} your overdraft fee was refunded today",
    "follow-up note": f"Walrus-{TAG} member upset about fees, call back",
    "next note": f"Heron-{TAG} left a voicemail, try again Friday",
    "completion note": f"Otter-{TAG} reached the member, all settled",
}


class Collected(logging.Handler):
    """Every record, formatted with its traceback, from every logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def logs() -> Iterator[Collected]:
    """The root logger at DEBUG for the whole module, every line kept.

    Set up as ``MEMBERFLOW_LOG_LEVEL=DEBUG`` sets up a process (``configure_logging``).
    """
    root = logging.getLogger()
    handler, level = Collected(), root.level
    root.addHandler(handler)
    configure_logging("DEBUG")
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def story_app(
    logs: Collected, base_settings: Settings, postgres_url: str
) -> AsyncIterator[RunningApp]:
    """Bridge, worker and API in this process (so their logs are collected)."""
    async with running_app(
        base_settings,
        postgres_url=postgres_url,
        parts=("worker", "bridge", "api"),
        api_port=free_port(),
    ) as app:
        yield app


async def eventually(call: Any, what: str, timeout: float = 60.0) -> Any:
    """Poll until ``call`` returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if result := await call():
            return result
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every ``Payload`` anywhere inside a protobuf message (inputs, results, failures...)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = [v for v in value.values() if isinstance(v, Message)]
        elif field.is_repeated:
            values = list(value)
        else:
            values = [value]
        for item in values:
            yield from payloads_in(item)


async def play_story(app: RunningApp, dana: DeskClient, lee: DeskClient) -> list[str]:
    """Request → claim → reply with a follow-up → note with the next one → completion.

    Returns:
        The ids of the three workflows the story ran.
    """
    event = contact_event(
        member_id=MEMBER,
        department=None,
        subject="Overdraft fee",
        message=TEXTS["message"],
        callback_phone=TEXTS["phone"],
    )
    request_id = event["data"]["request_id"]
    await produce(app.bootstrap, app.topics.contact_requests, [(MEMBER.encode(), encoded(event))])

    async def listed() -> bool:
        return request_id in {r["request_id"] for r in await dana.queue()}

    await eventually(listed, "the request in Dana's queue")
    assert (await dana.request(request_id))["message"] == TEXTS["message"]
    await dana.claim(request_id)
    due = (date.today() + timedelta(days=3)).isoformat()
    replied = await dana.reply(
        request_id,
        {
            "body": TEXTS["reply"],
            "copy_to_tracker": True,
            "follow_up": {
                "assignee_employee_id": "PDLOAN",
                "due_on": due,
                "note": TEXTS["follow-up note"],
            },
        },
    )
    first = replied["follow_up_id"]
    noted = await lee.add_note(
        first,
        {
            "note": TEXTS["next note"],
            "next_follow_up": {"assignee_employee_id": "PDLOAN", "due_on": due},
        },
    )
    second = noted["note_result"]["next_follow_up_id"]
    await lee.complete(second, note=TEXTS["completion note"])
    return [f"contact-request-{request_id}", f"follow-up-{first}", f"follow-up-{second}"]


def hits(haystack: bytes | str) -> list[str]:
    """The names of the texts found in ``haystack``."""
    if isinstance(haystack, bytes):
        return [name for name, text in TEXTS.items() if text.encode() in haystack]
    return [name for name, text in TEXTS.items() if text in haystack]


async def test_member_texts_stay_out_of_histories_logs_and_notifications(
    story_app: RunningApp, logs: Collected
) -> None:
    app = story_app
    sessions = app.services.session_factory
    base = f"http://127.0.0.1:{app.settings.api_port}"
    tokens = {
        who: await add_employee(sessions, who, name, role, boss)
        for who, name, role, boss in [
            ("PDSUP", "Pat", "supervisor", None),
            ("PDDESK", "Dana", "employee", "PDSUP"),
            ("PDLOAN", "Lee", "employee", "PDSUP"),
            ("PDOPS", "Olu", "operator", None),
        ]
    }
    # Employees of their own: the story test shares this database and counts JD's follow-ups.
    dana, lee = DeskClient(base, tokens["PDDESK"]), DeskClient(base, tokens["PDLOAN"])
    try:
        workflow_ids = await play_story(app, dana, lee)
    finally:
        await dana.close()
        await lee.close()

    # A client without the codec: what the Temporal server stores, as its operators see it.
    temporal = app.settings.temporal
    plain = await Client.connect(temporal.address, namespace=temporal.namespace)
    handles = [plain.get_workflow_handle(workflow_id) for workflow_id in workflow_ids]

    async def all_closed() -> bool:
        described = [await h.describe() for h in handles]
        return all(d.status is WorkflowExecutionStatus.COMPLETED for d in described)

    await eventually(all_closed, "the story's workflows to complete")
    histories = [await h.fetch_history() for h in handles]
    raw = b"".join(e.SerializeToString() for history in histories for e in history.events)
    # The figures the issue asks for (shown with ``pytest -s``).
    print(
        f"history byte search: {len(histories)} workflows, {len(raw)} bytes, "
        f"{len(TEXTS)} texts + the member number searched, hits={len(hits(raw))}"
    )
    assert hits(raw) == [], "member texts in the raw workflow histories"
    assert MEMBER.encode() not in raw, "the member number in the raw histories"

    # The member's workflows are found by MemberKey (as ``memberflow ops --member-id`` finds
    # them); no search attribute or id holds the number.
    search = member_search_key(temporal)

    async def found() -> set[str]:
        return {row[0] for row in await member_workflows(plain, search, MEMBER)}

    await eventually(lambda: _equal(found, set(workflow_ids)), "MemberKey to find the workflows")
    for handle in handles:
        description = await handle.describe()
        attributes = {p.key.name: p.value for p in description.typed_search_attributes}
        assert "MemberId" not in attributes
        assert MEMBER not in repr(attributes) and MEMBER not in handle.id
        assert hits(repr(attributes)) == []

    # The codec server opens the same payloads for an operator, and for no one else; each use
    # is in the access trail.
    payloads = [p for history in histories for e in history.events for p in payloads_in(e)]
    document = json_format.MessageToJson(Payloads(payloads=payloads))
    access = database_access(sessions, app.settings)
    codec_app = create_codec_app(EncryptionCodec(load_keys(temporal)), access, [])
    transport = httpx.ASGITransport(app=codec_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as http:
        decoded = await http.post(
            "/decode", content=document, headers={"Authorization": f"Bearer {tokens['PDOPS']}"}
        )
        desk = await http.post(
            "/decode", content=document, headers={"Authorization": f"Bearer {tokens['PDDESK']}"}
        )
        nobody = await http.post("/decode", content=document)
        stranger = await http.post(
            "/decode", content=document, headers={"Authorization": "Bearer not-a-token"}
        )
    assert decoded.status_code == 200
    opened = b"".join(p.data for p in json_format.Parse(decoded.text, Payloads()).payloads)
    assert sorted(hits(opened)) == sorted(TEXTS), "the codec server should open every text"
    assert (desk.status_code, nobody.status_code, stranger.status_code) == (403, 401, 401)
    assert hits(desk.text + nobody.text + stranger.text) == []
    for who, status in (("PDOPS", 200), ("PDDESK", 403)):
        rows = await list_events(sessions, employee_id=who)
        decodes = [row.status for row in rows if row.action == AuditAction.PAYLOADS_DECODE]
        assert decodes == [status], f"{who}'s decode in the access trail"

    # Logs (every logger at DEBUG) and employee notifications.
    leaked = [line for line in logs.lines if hits(line)]
    assert leaked == [], f"{len(leaked)} log lines hold member texts, e.g. {leaked[:1]}"
    assert any(line.startswith("temporalio") and " DEBUG " in line for line in logs.lines)
    notices = await consume(app.bootstrap, app.topics.employee_notifications, 100, timeout=5)
    assert len(notices) >= 2  # assigned, for each follow-up
    assert [hits(n.value) for n in notices if hits(n.value)] == []


async def _equal(call: Any, expected: set[str]) -> bool:
    return bool(await call() == expected)
