"""One row per fault, and the printed table with the problems behind each row."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tests.faults.checks import Problem

COLUMNS = (
    ("fault", 26),
    ("sent", 6),
    ("started", 8),
    ("dead-lettered", 14),
    ("lost", 5),
    ("duplicated", 11),
    ("misrouted", 10),
    ("stuck", 6),
    ("uncommitted", 12),
    ("repeats", 8),
    ("recover s", 10),
)

_IDS = re.compile(r"\b(flt|asg)-r\d+-\d+\b")
_ALWAYS_SHOWN = frozenset({"duplicated", "misrouted"})


@dataclass
class Row:
    """What one fault round measured.

    Attributes:
        fault: The fault's name.
        sent: Records published (valid and invalid, both inbound topics).
        started: Valid records whose workflow exists.
        dead_lettered: Records with at least one dead letter.
        lost, duplicated, misrouted, stuck, uncommitted: Problems of each kind.
        repeats: Deliveries repeated with the same event id (or dead letters of the same
            offset): allowed, consumers drop them, counted for information.
        recover_seconds: From the fault to the first request published after it listed by the
            API and the first reply started after it answered; ``None`` when it never did (or
            no fault).
        settle_seconds: From the end of publishing until the checks settled (or gave up).
        notes: What the harness saw besides the checks (e.g. a process exiting on its own).
        problems: Every problem, for the details below the table.
    """

    fault: str
    sent: int = 0
    started: int = 0
    dead_lettered: int = 0
    lost: int = 0
    duplicated: int = 0
    misrouted: int = 0
    stuck: int = 0
    uncommitted: int = 0
    repeats: int = 0
    recover_seconds: float | None = None
    settle_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing lost, doubled, misrouted, stuck or left uncommitted."""
        return not self.problems

    def cells(self) -> list[str]:
        """The row's table cells."""
        recover = "-" if self.recover_seconds is None else f"{self.recover_seconds:.1f}"
        return [
            self.fault,
            *(
                str(v)
                for v in (
                    self.sent,
                    self.started,
                    self.dead_lettered,
                    self.lost,
                    self.duplicated,
                    self.misrouted,
                    self.stuck,
                    self.uncommitted,
                    self.repeats,
                )
            ),
            recover,
        ]

    def summary(self, limit: int = 8) -> list[str]:
        """The row's problems grouped by kind (ids replaced by ``<id>``), most frequent first."""
        kinds = Counter((p.category, _IDS.sub("<id>", p.detail)) for p in self.problems)
        ranked = kinds.most_common()
        # A duplicate or a misrouted record never heals, so every kind of them is always shown.
        serious = [k for k in ranked if k[0][0] in _ALWAYS_SHOWN]
        others = [k for k in ranked if k[0][0] not in _ALWAYS_SHOWN]
        shown = serious + others[: max(limit - len(serious), 0)]
        lines = [f"{category} x{n}: {detail}" for (category, detail), n in shown]
        if len(ranked) > len(shown):
            lines.append(f"... and {len(ranked) - len(shown)} more kinds")
        return lines


def table(rows: list[Row], title: str = "") -> str:
    """The fault table, then each row's notes and problems."""
    lines = [title] if title else []
    header = " ".join(name.ljust(width) for name, width in COLUMNS)
    lines += [header, "-" * len(header)]
    for row in rows:
        lines.append(" ".join(c.ljust(w) for c, (_, w) in zip(row.cells(), COLUMNS, strict=True)))
    for row in rows:
        details = [*row.notes, *row.summary()]
        if details:
            lines.append(f"{row.fault} (settled in {row.settle_seconds:.0f} s):")
            lines += [f"  {line}" for line in details]
    return "\n".join(lines)
