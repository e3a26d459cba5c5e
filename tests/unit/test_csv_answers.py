"""The report answers' CSV: when it is chosen, its shape, and cells a spreadsheet would run."""

from __future__ import annotations

import csv
import io

import pytest
from pydantic import BaseModel
from starlette.requests import Request

from workers.platform.web.csv_answers import csv_text, report_answer, wants_csv
from workers.platform.web.schemas import Items


class Row(BaseModel):
    employee_id: str
    count: int
    days: float | None


def request(accept: str | None) -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("application/json", False),
        ("*/*", False),
        ("text/csv", True),
        ("Text/CSV; charset=utf-8", True),
        ("application/json;q=0.5, text/csv", True),
        ("text/csvx", False),
    ],
)
def test_csv_only_when_the_accept_header_names_it(accept: str | None, expected: bool) -> None:
    assert wants_csv(request(accept)) is expected


def test_csv_has_a_header_line_and_one_line_per_row() -> None:
    rows = [Row(employee_id="SR", count=3, days=1.5), Row(employee_id="JD", count=0, days=None)]
    text = csv_text(rows, ["employee_id", "count", "days"])
    assert text == "employee_id,count,days\r\nSR,3,1.5\r\nJD,0,\r\n"
    assert csv_text([], ["employee_id"]) == "employee_id\r\n"


def test_cells_a_spreadsheet_would_run_are_quoted_as_text() -> None:
    rows = [Row(employee_id=value, count=1, days=None) for value in ("=1+1", "@SUM(A1)", "-2")]
    parsed = list(csv.reader(io.StringIO(csv_text(rows, ["employee_id"]))))
    assert [line[0] for line in parsed[1:]] == ["'=1+1", "'@SUM(A1)", "'-2"]


def test_report_answer_is_items_json_by_default_and_csv_when_asked() -> None:
    rows = [Row(employee_id="SR", count=3, days=None)]
    as_json = report_answer(request(None), rows, Row, "demo")
    assert as_json == Items(items=[{"employee_id": "SR", "count": 3, "days": None}])
    as_csv = report_answer(request("text/csv"), rows, Row, "demo")
    assert not isinstance(as_csv, Items)
    assert as_csv.media_type == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == 'attachment; filename="demo.csv"'
    assert bytes(as_csv.body) == b"employee_id,count,days\r\nSR,3,\r\n"
