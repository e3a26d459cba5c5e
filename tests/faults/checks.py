"""The round's verdict from outside observations: lost, doubled, misrouted, stuck, uncommitted.

A problem that may still resolve itself (a workflow not started yet, a message not yet
published) is *pending*; the harness polls until nothing is pending or its bound runs out, and
then every problem left counts. A problem that cannot resolve any more (a duplicate, a record
the bridge committed without starting or dead-lettering it) is *final* at once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Literal

from aiokafka.structs import TopicPartition

from tests.faults.load import RoundLoad
from tests.faults.observe import Execution, StoreView, TailRecord
from tests.faults.records import Outbound

Category = Literal["lost", "duplicated", "misrouted", "stuck", "uncommitted"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong, named by business ids and labels only (never member data)."""

    category: Category
    detail: str
    final: bool


@dataclass
class Observation:
    """Everything read from outside for one round."""

    topics: dict[str, str]  # "contact"/"assignment" → the inbound topic's name
    inbound: dict[str, list[TailRecord]]  # same keys → the round's records on it
    dead_letters: dict[str, list[TailRecord]]  # same keys → records on the DLQ
    member_messages: list[TailRecord]
    notifications: list[TailRecord]
    ends: dict[TopicPartition, int]  # inbound topics' end offsets
    committed: dict[str, dict[TopicPartition, int]]  # inbound name → the bridge group's commits
    executions: dict[str, list[Execution]]
    store: StoreView
    stuck: list[tuple[Execution, str, int]] = field(default_factory=list)


@dataclass
class Verdict:
    """Counts for the table and the problems behind them."""

    sent: int = 0
    started: int = 0
    dead_lettered: int = 0
    repeats: int = 0
    problems: list[Problem] = field(default_factory=list)

    def add(self, category: Category, detail: str, *, final: bool) -> None:
        """Record a problem."""
        self.problems.append(Problem(category, detail, final))

    def count(self, category: Category) -> int:
        """Problems of one category."""
        return sum(1 for p in self.problems if p.category == category)

    @property
    def settled(self) -> bool:
        """Nothing left that could still resolve itself."""
        return all(p.final for p in self.problems)


def _by_key(records: list[TailRecord]) -> dict[bytes, list[TailRecord]]:
    grouped: dict[bytes, list[TailRecord]] = defaultdict(list)
    for record in records:
        grouped[record.key or b""].append(record)
    return grouped


def _events(records: list[TailRecord], field_name: str) -> dict[str, list[str]]:
    """Event ids by a data field (``request_id``, ``follow_up_id``), repeats kept."""
    found: dict[str, list[str]] = defaultdict(list)
    for record in records:
        event = record.event()
        data = event.get("data") or {}
        found[str(data.get(field_name))].append(str(event.get("id")))
    return found


def _count_once(verdict: Verdict, what: str, ids: list[str], *, final: bool) -> bool:
    """One distinct id expected: none is lost (pending until final), several are doubled."""
    distinct = set(ids)
    verdict.repeats += len(ids) - len(distinct)
    if not distinct:
        verdict.add("lost", f"{what}: missing", final=final)
        return False
    if len(distinct) > 1:
        verdict.add("duplicated", f"{what}: {len(distinct)} distinct", final=True)
    return True


def evaluate(load: RoundLoad, seen: Observation, *, deadline_passed: bool) -> Verdict:
    """Judge the round; at the deadline every problem is final."""
    verdict = Verdict(sent=len(load.records))
    done = deadline_passed
    bridge_done = {
        name: _committed_to_end(seen, name, verdict, final=done) for name in seen.committed
    }
    member_events = _events(seen.member_messages, "request_id")
    notices = _events(seen.notifications, "follow_up_id")
    letters = {name: _by_key(records) for name, records in seen.dead_letters.items()}
    inbound = {name: _by_key(records) for name, records in seen.inbound.items()}
    for record in load.records:
        dlq = letters[record.inbound].get(record.key, [])
        copies = [r.offset for r in inbound[record.inbound].get(record.key, [])]
        verdict.dead_lettered += 1 if dlq else 0
        sent = load.sent.get(record.key)
        if not copies and sent is not None and sent.acked_at is not None:
            # Acknowledged with acks=all, so it must be on the topic: the broker lost it.
            verdict.add(
                "lost", f"{record.label} record: acknowledged, not on its topic", final=done
            )
        if not record.valid:
            _invalid(verdict, record, dlq, copies, bridge_done[record.inbound] or done)
            continue
        if dlq:
            verdict.add(
                "misrouted", f"{record.business_id}: valid record dead-lettered", final=True
            )
        prefix = "contact-request-" if record.inbound == "contact" else "followup-assignment-"
        runs = seen.executions.get(f"{prefix}{record.business_id}", [])
        if len(runs) > 1:
            verdict.add("duplicated", f"{record.business_id}: {len(runs)} workflows", final=True)
        if not runs:
            verdict.add(
                "lost",
                f"{record.business_id}: no workflow",
                final=done or bridge_done[record.inbound],
            )
            continue
        verdict.started += 1
        if record.inbound == "contact":
            _contact(verdict, load, seen, record, member_events, notices, done)
        else:
            _assignment(verdict, seen, record, notices, done)
    for execution, what, attempt in seen.stuck:
        verdict.add("stuck", f"{execution.workflow_id}: {what} at attempt {attempt}", final=True)
    return verdict


def _committed_to_end(seen: Observation, name: str, verdict: Verdict, *, final: bool) -> bool:
    """Whether the bridge's group committed every partition of one inbound topic to its end."""
    topic, committed = seen.topics[name], seen.committed[name]
    behind = 0
    for tp, end in sorted(seen.ends.items()):
        lag = end - committed.get(tp, 0)
        if tp.topic == topic and lag > 0:
            behind += lag
            verdict.add("uncommitted", f"{tp.topic}[{tp.partition}] {lag} behind", final=final)
    return behind == 0


def _invalid(
    verdict: Verdict, record: Outbound, dlq: list[TailRecord], copies: list[int], done: bool
) -> None:
    """Each copy of a bad record in its dead-letter topic, once per copy, with its reason."""
    offsets = Counter(int(d.headers.get("x-original-offset", "-1")) for d in dlq)
    verdict.repeats += sum(n - 1 for n in offsets.values())
    for offset in copies:
        if offset not in offsets:
            verdict.add("misrouted", f"{record.label}: not dead-lettered", final=done)
    for letter in dlq:
        if record.reason and record.reason not in letter.headers.get("x-error", ""):
            verdict.add("misrouted", f"{record.label}: x-error lacks the reason", final=True)


def _contact(
    verdict: Verdict,
    load: RoundLoad,
    seen: Observation,
    record: Outbound,
    member_events: dict[str, list[str]],
    notices: dict[str, list[str]],
    done: bool,
) -> None:
    """A request: stored, answered once, copied once, its follow-up opened once and notified."""
    request_id = record.business_id or ""
    if request_id not in seen.store.stored_requests:
        verdict.add("lost", f"{request_id}: workflow but no stored request", final=done)
        return
    reply = load.replies.get(request_id)
    if reply is None or reply.status is None:
        verdict.add("stuck", f"{request_id}: stored, the desk has not answered it", final=done)
        return
    if reply.status in ("refused", "gave-up"):
        verdict.add("stuck", f"{request_id}: reply {reply.status} ({reply.detail})", final=True)
        return
    member = record.member_id
    _count_once(
        verdict,
        f"{request_id} secure message",
        [m for m, _ in seen.store.messages.get(member, [])],
        final=done,
    )
    _count_once(
        verdict,
        f"{request_id} Tracker conversation",
        [key for _, key in seen.store.conversations.get(member, [])],
        final=done,
    )
    _count_once(verdict, f"{request_id} member message", member_events[request_id], final=done)
    follow_ups = seen.store.follow_ups.get(member, [])
    if not record.follow_up:
        return
    if _count_once(verdict, f"{request_id} follow-up", [f for f, _ in follow_ups], final=done):
        _follow_up(verdict, seen, request_id, follow_ups[0], notices, done)


def _assignment(
    verdict: Verdict,
    seen: Observation,
    record: Outbound,
    notices: dict[str, list[str]],
    done: bool,
) -> None:
    """An assignment: one conversation, one follow-up, its workflow, its notice."""
    member, assignment_id = record.member_id, record.business_id or ""
    _count_once(
        verdict,
        f"{assignment_id} conversation",
        [key for _, key in seen.store.conversations.get(member, [])],
        final=done,
    )
    follow_ups = seen.store.follow_ups.get(member, [])
    if _count_once(verdict, f"{assignment_id} follow-up", [f for f, _ in follow_ups], final=done):
        _follow_up(verdict, seen, assignment_id, follow_ups[0], notices, done)


def _follow_up(
    verdict: Verdict,
    seen: Observation,
    owner: str,
    follow_up: tuple[str, str],
    notices: dict[str, list[str]],
    done: bool,
) -> None:
    """The follow-up's workflow exists once and its assignee was told (repeats: same id only)."""
    follow_up_id, assignee = follow_up
    runs = seen.executions.get(f"follow-up-{follow_up_id}", [])
    if len(runs) > 1:
        verdict.add("duplicated", f"{owner} follow-up: {len(runs)} workflows", final=True)
    elif not runs:
        verdict.add("lost", f"{owner} follow-up: no workflow", final=done)
    assigned = [
        event_id
        for event_id in notices.get(follow_up_id, [])
        if event_id.startswith(f"follow-up-{follow_up_id}/assigned/")
    ]
    _count_once(verdict, f"{owner} assigned notice", assigned, final=done)
    if assigned and set(assigned) != {f"follow-up-{follow_up_id}/assigned/{assignee}"}:
        verdict.add("misrouted", f"{owner} assigned notice: wrong recipient", final=True)
