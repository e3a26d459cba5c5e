"""``memberflow demo``: the Private Contacts story and a tier scoring run, printed step by step.

Everything goes through the public interfaces: a CloudEvent on Kafka in, the desk HTTP API and
Kafka topics out, against the local stack (started here when it is not running).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from contracts.contacts.messages import CONTACT_SUBMITTED, ContactSubmitted
from contracts.platform.events import new_event
from deploy.processes import free_port, port_open, stop_process_group
from deploy.stack import LocalStack
from workers.app.demo.desk_client import DeskClient
from workers.platform.kafka_client import EventPublisher, ensure_topics
from workers.platform.kafka_reader import read_topic
from workers.platform.settings import Settings

console = Console()
T = TypeVar("T")

MARTY = "104729"
MEMBERFLOW = str(Path(sys.executable).parent / "memberflow")


async def eventually(call: Callable[[], Awaitable[T]], what: str, timeout: float = 60.0) -> T:
    """Poll until ``call`` returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await call()
        if result:
            return result
        await asyncio.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what}")


def step(number: int, title: str) -> None:
    """A numbered heading."""
    console.rule(f"[bold cyan]{number}. {title}", align="left")


def show(rows: list[dict[str, Any]], columns: list[str], title: str | None = None) -> None:
    """A table of selected columns."""
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(str(row.get(c, "")) for c in columns))
    console.print(out)


def cli(env: dict[str, str], *args: str) -> str:
    """Run a ``memberflow`` command; its standard output."""
    done = subprocess.run(
        [MEMBERFLOW, *args], env=env, capture_output=True, text=True, check=False, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"memberflow {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _departments(*codes: str) -> tuple[str, ...]:
    """``--department`` options: the requests an employee sees and claims."""
    return tuple(arg for code in codes for arg in ("--department", code))


async def story(settings: Settings, env: dict[str, str], api: str) -> dict[str, str]:
    """Marty asks, Sarah replies with a follow-up for John, John is notified and completes it."""
    step(1, "Employees get their desk tokens (memberflow employees add)")
    tokens = {
        who: cli(env, "employees", "add", who, "--name", name, "--role", role, *sup)
        .strip()
        .splitlines()[-1]
        for who, name, role, sup in (
            ("MG", "Maria", "supervisor", _departments("LOANS", "DEPOSITS", "CARDS", "GENERAL")),
            ("SR", "Sarah", "employee", ("--supervisor", "MG", *_departments("LOANS", "GENERAL"))),
            ("JD", "John", "employee", ("--supervisor", "MG", *_departments("LOANS"))),
        )
    }
    console.print(
        "MG (supervisor, every department), SR Sarah (LOANS, GENERAL) and JD John (LOANS) "
        "can now call the API."
    )
    sarah, john = DeskClient(api, tokens["SR"]), DeskClient(api, tokens["JD"])
    try:
        await _story(settings, sarah, john)
    finally:
        await sarah.close()
        await john.close()
    return tokens


async def _story(settings: Settings, sarah: DeskClient, john: DeskClient) -> None:
    step(2, "Marty presses Contact Us in online banking (a CloudEvent on Kafka)")
    now = datetime.now(UTC)
    request = ContactSubmitted(
        request_id=f"demo-{int(now.timestamp())}",
        member_id=MARTY,
        channel="online",
        subject="Auto loan payoff",
        message="Hi, what is the payoff on my auto loan? I may pay it off this month.",
        department="LOANS",
        callback_phone="6165550199",
        submitted_at=now,
    )
    publisher = EventPublisher(settings.kafka)
    await publisher.start()
    try:
        event = new_event(
            event_id=f"evt-{request.request_id}",
            source="/channels/its-me-247",
            event_type=CONTACT_SUBMITTED,
            time=now,
            data=request,
            subject=MARTY,
        )
        await publisher.publish(settings.topics.contact_requests, MARTY, event)
    finally:
        await publisher.stop()
    console.print(
        f"published {CONTACT_SUBMITTED} {request.request_id} to {settings.topics.contact_requests}"
    )

    step(3, "Sarah's queue (GET /api/v1/contact-requests)")

    async def listed() -> list[dict[str, Any]]:
        return [r for r in await sarah.queue() if r["request_id"] == request.request_id]

    await eventually(listed, "the request in the queue")
    show(await sarah.queue(), ["request_id", "member_id", "department", "subject", "state"])

    step(4, "Sarah claims it, then replies with copy-to-Tracker and a follow-up for John")
    claimed = await sarah.claim(request.request_id)
    console.print(f"claimed by {claimed['claimed_by']}; it left the other employees' queue")
    due = date.today() + timedelta(days=2)
    answer = await sarah.reply(
        request.request_id,
        {
            "body": "Hi Marty, your payoff today is $4,210.17. John from loans will call you.",
            "copy_to_tracker": True,
            "follow_up": {
                "assignee_employee_id": "JD",
                "due_on": due.isoformat(),
                "note": "Call Marty",
            },
        },
    )
    show([answer], ["state", "message_id", "tracker_id", "conversation_id", "follow_up_id"])

    step(5, "Marty sees the reply at next login (secure messages + member-messages.v1)")
    show(await sarah.messages(MARTY), ["subject", "sent_by_employee_id", "sent_at"])
    out = await read_topic(settings.kafka, settings.topics.member_messages, 1)
    console.print(
        f"{settings.topics.member_messages}: {out[-1].json()['type']} key={out[-1].key!r}"
    )

    step(6, "John is notified (employee-notifications.v1)")
    notices = await read_topic(settings.kafka, settings.topics.employee_notifications, 1)
    data = notices[-1].json()
    console.print(f"{data['type']} to {data['data']['employee_id']}: {data['data']['summary']}")
    show(
        await john.follow_ups(),
        ["id", "member_id", "due_on", "status", "assigned_by"],
        "John's follow-ups",
    )

    step(7, "Marty's Tracker: request and reply in one conversation")
    _print_tracker(await john.trackers(MARTY))

    step(8, "John calls Marty and completes the follow-up")
    await john.complete(
        answer["follow_up_id"], note="Called Marty; payoff confirmed, paying Friday."
    )
    show(await john.follow_ups(status="completed"), ["id", "status", "due_on"], "John's completed")
    _print_tracker(await john.trackers(MARTY))


def _print_tracker(trackers: list[dict[str, Any]]) -> None:
    for tracker in trackers:
        console.print(
            f"[bold]Tracker {tracker['tracker_type']}[/bold] ({tracker['description']}), "
            f"{tracker['conversation_count']} conversation(s), newest first:"
        )
        for conversation in tracker["conversations"]:
            follow_ups = ", ".join(
                f"{f['assignee_employee_id']}:{f['status']}"
                for f in conversation.get("follow_ups", [])
            )
            console.print(
                f"  #{conversation['seq']} {conversation['created_at'][:19]} "
                f"by {conversation['employee_id']} memo {conversation['memo_type']}"
                + (f"  follow-ups: {follow_ups}" if follow_ups else "")
            )
            for line in conversation["text"].splitlines():
                console.print(f"      {line}", highlight=False)


def tiers(env: dict[str, str], period: str, members: int) -> None:
    """Generate an extract, run the period's scoring and print the report."""
    step(9, f"Tiered Service scoring: {members:,} generated members, period {period}")
    console.print(
        cli(env, "tiers", "generate", "--members", str(members), "--seed", "7", "--period", period)
    )
    console.print(cli(env, "tiers", "run", "--period", period))


async def member_summary(settings: Settings, api: str, token: str, period: str) -> None:
    """One member's points summary, as the desk shows it (GET /members/{id}/tier)."""
    changes = await read_topic(settings.kafka, settings.topics.tier_levels, 1)
    member_id = changes[0].json()["data"]["member_id"]
    desk = DeskClient(api, token)
    try:
        summary = await desk.tier(member_id, period)
    finally:
        await desk.close()
    console.print(
        f"member {member_id}: level {summary.get('level_code')} ({summary.get('level_name')}), "
        f"{summary.get('total')} of {summary.get('possible_points')} possible points"
    )
    goals = summary.get("points_by_goal", {})
    possible = summary.get("possible_by_goal", {})
    show(
        [{"goal": g, "points": goals[g], "possible": possible.get(g, "")} for g in goals],
        ["goal", "points", "possible"],
        "points by goal",
    )


def where_to_look(stack_env: dict[str, str], ui: str | None, api: str) -> None:
    """Addresses for operators."""
    step(10, "Where to look")
    if ui:
        console.print(f"Temporal Web UI:  http://{ui}/namespaces/default/workflows")
    codec_port = stack_env.get("MEMBERFLOW_CODEC_PORT")
    if ui and codec_port:
        # Payloads are encrypted in Temporal; the UI shows them through the codec server,
        # which only operators may use (docs/security.md, "Codec server and the Web UI").
        codec = f"http://127.0.0.1:{codec_port}"
        console.print(
            f"Codec server:     {codec}   (to read payloads in the UI, set its Codec Server "
            f"to {codec}/<token>, the token from `memberflow employees token OP`)"
        )
    console.print(f"API docs:         {api}/docs   (OpenAPI: {api}/openapi.json)")
    console.print(f"Kafka:            {stack_env['MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS']}")
    topics = Settings().topics
    console.print(f"Topics:           {', '.join(topics.all_topics())}")


def run_demo(state_dir: Path, members: int = 20_000, keep: bool = False) -> None:
    """Start what is needed, play the story and a scoring run, stop what was started."""
    stack = LocalStack(state_dir)
    was_running = any(row["running"] for row in stack.status())
    with console.status("starting the local stack (Kafka, Temporal + UI, PostgreSQL)..."):
        state = stack.up()
    api_port = free_port()
    env = {**os.environ, **state.env(), "MEMBERFLOW_API_PORT": str(api_port)}
    env.setdefault("MEMBERFLOW_TIER_EXTRACT_ROOT", str(state_dir / "extracts"))
    os.environ.update({k: v for k, v in env.items() if k.startswith("MEMBERFLOW_")})
    settings = Settings()
    asyncio.run(ensure_topics(settings.kafka, settings.topics.all_topics()))
    log = state_dir / "run-all.log"
    with log.open("ab") as out:
        app = subprocess.Popen(
            [MEMBERFLOW, "run", "all"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", api_port):
            if app.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"memberflow run all did not start; see {log}")
            time.sleep(0.2)
        console.print(f"bridge + worker + API running (memberflow run all, log {log})")
        tokens = asyncio.run(story(settings, env, api))
        period = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        tiers(env, period, members)
        asyncio.run(member_summary(settings, api, tokens["MG"], period))
        ui = state.servers.get("temporal-ui")
        where_to_look(env, ui.address if ui else None, api)
        if not keep:
            console.print("\n(`memberflow demo --keep` leaves everything running to look around)")
    finally:
        if not keep:
            stop_process_group(app.pid)
            if not was_running:
                stack.down()
                console.print("stopped the local stack")
