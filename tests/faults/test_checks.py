"""The fault suite's judge on made-up observations: it sees what it claims to see.

No servers: a consistent world is built by hand for a small round, then broken one way at a
time (a second workflow, a missing one, a notice under two event ids, a bad record that slipped
past the dead-letter topic, an offset left behind) and the verdict must name exactly that.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from aiokafka.structs import TopicPartition

from tests.faults.checks import Observation, Problem, evaluate
from tests.faults.load import Reply, RoundLoad, Sent
from tests.faults.observe import Execution, StoreView, TailRecord
from tests.faults.records import RecordFactory
from tests.faults.report import Row

pytestmark = pytest.mark.unit

TOPICS = {"contact": "contact-requests.v1", "assignment": "followup-assignments.v1"}


def _event(event_id: str, **data: str) -> bytes:
    return json.dumps({"id": event_id, "data": data}).encode()


def _round() -> RoundLoad:
    load = RoundLoad(RecordFactory().round_records(1, requests=2, assignments=1, invalid_sets=1))
    for record in load.records:
        load.sent[record.key] = Sent(record, attempts=1, acked_at=0.5)
    for record in load.records:
        if record.inbound == "contact" and record.business_id:
            load.replies[record.business_id] = Reply(
                record.business_id, record.follow_up, 0.0, status="ok", done_at=1.0
            )
    return load


def _world(load: RoundLoad) -> Observation:
    """Everything in its place: one workflow, row, message, conversation and notice each."""
    inbound: dict[str, list[TailRecord]] = {"contact": [], "assignment": []}
    letters: dict[str, list[TailRecord]] = {"contact": [], "assignment": []}
    store, executions = StoreView(), {}
    messages: list[TailRecord] = []
    notices: list[TailRecord] = []
    for offset, record in enumerate(load.records):
        inbound[record.inbound].append(TailRecord(0, offset, record.key, record.value, {}))
        if not record.valid:
            headers = {"x-error": f"because {record.reason}", "x-original-offset": str(offset)}
            letters[record.inbound].append(TailRecord(0, offset, record.key, b"", headers))
            continue
        member, ident = record.member_id, record.business_id or ""
        prefix = "contact-request-" if record.inbound == "contact" else "followup-assignment-"
        executions[prefix + ident] = [Execution(prefix + ident, "r1", "W", False)]
        store.conversations[member] = [("PC", f"{ident}/conversation")]
        if record.inbound == "contact":
            store.stored_requests.add(ident)
            store.messages[member] = [(f"m-{ident}", ident)]
            event = _event(f"member-message-m-{ident}", request_id=ident)
            messages.append(TailRecord(0, len(messages), record.key, event, {}))
        if record.inbound == "assignment" or record.follow_up:
            follow_up = f"f-{ident}"
            assignee = "JD"
            store.follow_ups[member] = [(follow_up, assignee)]
            executions[f"follow-up-{follow_up}"] = [
                Execution(f"follow-up-{follow_up}", "r1", "FollowUpWorkflow", True)
            ]
            event = _event(f"follow-up-{follow_up}/assigned/{assignee}", follow_up_id=follow_up)
            notices.append(TailRecord(0, len(notices), b"JD", event, {}))
    ends = {TopicPartition(topic, 0): len(load.records) for topic in TOPICS.values()}
    return Observation(
        topics=TOPICS,
        inbound=inbound,
        dead_letters=letters,
        member_messages=messages,
        notifications=notices,
        ends=ends,
        committed={name: dict(ends) for name in TOPICS},
        executions=executions,
        store=store,
    )


def test_a_consistent_world_has_no_problem() -> None:
    load = _round()
    verdict = evaluate(load, _world(load), deadline_passed=True)
    assert verdict.problems == []
    assert verdict.sent == len(load.records)
    assert verdict.started == sum(1 for r in load.records if r.valid)
    assert verdict.dead_lettered == sum(1 for r in load.records if not r.valid)


def test_a_second_workflow_for_one_request_is_a_duplicate() -> None:
    load = _round()
    world = _world(load)
    first = next(r for r in load.records if r.inbound == "contact" and r.valid)
    key = f"contact-request-{first.business_id}"
    world.executions[key] = [*world.executions[key], replace(world.executions[key][0], run_id="2")]
    verdict = evaluate(load, world, deadline_passed=True)
    assert [(p.category, p.final) for p in verdict.problems] == [("duplicated", True)]


def test_a_record_the_bridge_committed_without_a_workflow_is_lost_at_once() -> None:
    load = _round()
    world = _world(load)
    assignment = next(r for r in load.records if r.inbound == "assignment" and r.valid)
    del world.executions[f"followup-assignment-{assignment.business_id}"]
    verdict = evaluate(load, world, deadline_passed=False)
    assert [(p.category, p.final) for p in verdict.problems] == [("lost", True)]
    assert verdict.settled


def test_a_missing_notice_is_pending_until_the_deadline() -> None:
    load = _round()
    world = replace(_world(load), notifications=[])
    pending = evaluate(load, world, deadline_passed=False)
    assert pending.count("lost") > 0 and not pending.settled
    assert evaluate(load, world, deadline_passed=True).settled


def test_notices_repeat_only_under_the_same_event_id() -> None:
    load = _round()
    world = _world(load)
    notice = world.notifications[0]
    world.notifications.append(notice)
    assert evaluate(load, world, deadline_passed=True).problems == []
    assert evaluate(load, world, deadline_passed=True).repeats == 1
    other = json.loads(notice.value or b"")
    other["id"] = other["id"].replace("/assigned/JD", "/assigned/JD-again")
    world.notifications.append(replace(notice, value=json.dumps(other).encode()))
    categories = {p.category for p in evaluate(load, world, deadline_passed=True).problems}
    assert "duplicated" in categories


def test_a_bad_record_not_dead_lettered_is_misrouted() -> None:
    load = _round()
    world = _world(load)
    poison = next(r for r in load.records if r.label == "nul-message")
    world.dead_letters["contact"] = [
        d for d in world.dead_letters["contact"] if d.key != poison.key
    ]
    verdict = evaluate(load, world, deadline_passed=False)
    assert [(p.category, p.detail) for p in verdict.problems] == [
        ("misrouted", "nul-message: not dead-lettered")
    ]


def test_offsets_left_behind_count_at_the_deadline() -> None:
    load = _round()
    world = _world(load)
    partition = TopicPartition(TOPICS["assignment"], 0)
    world.committed["assignment"][partition] -= 2
    assert not evaluate(load, world, deadline_passed=False).settled
    verdict = evaluate(load, world, deadline_passed=True)
    assert [p.detail for p in verdict.problems if p.category == "uncommitted"] == [
        "followup-assignments.v1[0] 2 behind"
    ]


def test_an_acknowledged_record_missing_from_its_topic_is_lost() -> None:
    load = _round()
    world = _world(load)
    first = next(r for r in load.records if r.inbound == "contact" and r.valid)
    world.inbound["contact"] = [r for r in world.inbound["contact"] if r.key != first.key]
    verdict = evaluate(load, world, deadline_passed=True)
    assert "valid record: acknowledged, not on its topic" in [
        p.detail for p in verdict.problems if p.category == "lost"
    ]


def test_the_summary_always_names_every_kind_of_duplicate() -> None:
    """Many frequent lost kinds must not push a rare duplicate out of the printed summary."""
    row = Row("none", 10, 10, 0)
    row.problems = [
        Problem("lost", f"kind{k} flt-r1-{n}", final=True) for k in range(10) for n in range(5)
    ]
    row.problems.append(Problem("duplicated", "flt-r1-7: 2 workflows", final=True))
    lines = row.summary(limit=3)
    assert lines[0] == "duplicated x1: <id>: 2 workflows"
    assert len(lines) == 4 and lines[-1] == "... and 8 more kinds"
