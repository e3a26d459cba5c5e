"""Report answers as JSON or ``text/csv``: the one helper every report route answers with."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from workers.platform.web.schemas import Items

CSV = "text/csv"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "JSON, or CSV"}
}
"""The extra 200 content a report route declares in OpenAPI (``responses=``)."""

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(request: Request) -> bool:
    """Whether the ``Accept`` header names ``text/csv`` (otherwise the answer is JSON)."""
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip().lower() == CSV for part in accept.split(","))


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(rows: Sequence[BaseModel], columns: Sequence[str]) -> str:
    """``rows`` as CSV with a header line of ``columns`` (a header even when there are none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        values = row.model_dump(mode="json")
        writer.writerow([_cell(values[c]) for c in columns])
    return out.getvalue()


def report_answer(
    request: Request, rows: Sequence[BaseModel], model: type[BaseModel], name: str
) -> Items | Response:
    """The report as ``Items`` JSON, or as a CSV download when the caller asked for one.

    Args:
        request: The request (its ``Accept`` header decides).
        rows: The report's rows.
        model: Their model: its fields, in order, are the CSV columns.
        name: The download's file name, without ``.csv``.
    """
    if not wants_csv(request):
        return Items(items=[r.model_dump(mode="json") for r in rows])
    return Response(
        csv_text(rows, list(model.model_fields)),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
