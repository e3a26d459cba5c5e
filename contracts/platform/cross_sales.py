"""Cross-sales configuration: Need Groups and Tasks (docs/operations.md, "Cross-sales").

A note on a Tracker type flagged ``cross_sales_required`` (the Sales Tracker) names one configured
Need Group and one configured Task of that group. Pydantic models only; ``OpsConfig`` holds the
lists and checks their cross-references with :func:`cross_sales_problems`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from contracts.vocabulary import NoNul

CrossSalesCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$")]
"""A Need Group or Task code: fits the 16-character ``need_group`` / ``task`` columns
(a ``ShortCode16``), upper case so the desk and Kafka spell it one way."""

_Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), NoNul()
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NeedGroup(_Strict):
    """A family of member needs a sales conversation is about (e.g. borrowing)."""

    code: CrossSalesCode
    description: _Description


class SalesTask(_Strict):
    """A cross-sales task: the product or action offered, inside one Need Group."""

    code: CrossSalesCode
    description: _Description
    need_group: CrossSalesCode
    next_suggested_product: bool = False
    """Offered as the Next Suggested Product for members in this Need Group."""


def default_need_groups() -> list[NeedGroup]:
    """The shipped Need Groups (docs/operations.md, "Cross-sales")."""
    rows = [
        ("BORROW", "Borrowing: loans and credit"),
        ("SAVE", "Saving and investing"),
        ("SPEND", "Everyday spending and payments"),
        ("PROTECT", "Insurance and protection"),
    ]
    return [NeedGroup(code=c, description=d) for c, d in rows]


def default_tasks() -> list[SalesTask]:
    """The shipped Tasks (docs/operations.md, "Cross-sales")."""
    rows = [
        ("CCAPP", "Credit card application", "BORROW", True),
        ("AUTOLOAN", "Auto loan or refinance", "BORROW", False),
        ("HELOC", "Home equity line of credit", "BORROW", False),
        ("CERT", "Share certificate", "SAVE", True),
        ("IRA", "Individual retirement account", "SAVE", False),
        ("DEBIT", "Debit card", "SPEND", True),
        ("ESTMT", "Electronic statements", "SPEND", False),
        ("GAP", "GAP insurance", "PROTECT", False),
    ]
    return [
        SalesTask(code=c, description=d, need_group=g, next_suggested_product=n)
        for c, d, g, n in rows
    ]


def cross_sales_problems(need_groups: list[NeedGroup], tasks: list[SalesTask]) -> list[str]:
    """Readable problems with the Need Group and Task lists: duplicates, unknown groups."""
    problems: list[str] = []
    groups: set[str] = set()
    for i, group in enumerate(need_groups):
        if group.code in groups:
            problems.append(f"need_groups[{i}] ({group.code}): duplicate code")
        groups.add(group.code)
    seen: set[str] = set()
    for i, task in enumerate(tasks):
        if task.code in seen:
            problems.append(f"tasks[{i}] ({task.code}): duplicate code")
        seen.add(task.code)
        if task.need_group not in groups:
            problems.append(
                f"tasks[{i}] ({task.code}): need_group {task.need_group} "
                "is not a configured Need Group"
            )
    return problems


def cross_sales_refusal(
    need_groups: list[NeedGroup], tasks: list[SalesTask], need_group: str | None, task: str | None
) -> str | None:
    """Why ``(need_group, task)`` cannot go on a cross-sales note, or None when it can."""
    if not (need_group and task):
        return "needs a Need Group and a Task on every note"
    if not any(g.code == need_group for g in need_groups):
        return f"need group {need_group} is not a configured Need Group"
    found = next((t for t in tasks if t.code == task), None)
    if found is None:
        return f"task {task} is not a configured Task"
    if found.need_group != need_group:
        return f"task {task} belongs to Need Group {found.need_group}, not {need_group}"
    return None
