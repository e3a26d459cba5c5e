"""Hostile input files (operations file, tier program, tier extract) and command lines.

A bad file is refused as a whole with a message naming the file and the entry, line or column,
so nothing reads half of it; a bad command line exits 2 naming the option before it touches any
server or writes anything.

Covered elsewhere (not repeated here):

| case | test |
|---|---|
| ops file: unknown keys, duplicate codes, dangling references, not YAML, missing file | tests/unit/test_ops_config.py |
| extract: truncated / corrupt Parquet, empty file, not UTF-8, wrong field count, quoting | tests/unit/tiers/test_read_faults.py |
"""  # noqa: E501

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner

from tests.hostile.checks import count
from tests.unit.tiers.frames import extract
from workers.app.cli import app as cli
from workers.platform.operations import DEFAULT_OPS_CONFIG, ConfigError, load_ops_config
from workers.tiers.runs.steps import load_program, read_extract
from workers.tiers.scoring.program import DEFAULT_PROGRAM_PATH

DEEP = "a: " + "[" * 50_000 + "]" * 50_000
HUGE = "9" * 5_000

# --- operations file ---------------------------------------------------------------------------


OPS_CASES: list[tuple[str, bytes, str]] = [
    ("not-utf8", b"time_zone: America/Detroit\n# caf\xe9\n", "not UTF-8"),
    ("deep-nesting", DEEP.encode(), "nested too deeply"),
    ("huge-number", f"follow_ups: {{overdue_escalation_days: {HUGE}}}\n".encode(), "4300"),
    ("nul-in-label", b'departments: [{code: LOANS, label: "Lo\\0ans"}]\n', "departments[0].label"),
    ("bell-character", b"time_zone: America/\x07Detroit\n", "not valid YAML"),
    ("unknown-time-zone", b"time_zone: Mars/Olympus\n", "time_zone"),
    ("escalation-days-366", b"follow_ups: {overdue_escalation_days: 366}\n", "overdue_escalation"),
    (
        "department-lowercase",
        b"departments: [{code: loans, label: Loans}]\n",
        "departments[0].code",
    ),
    (
        "duplicate-key",
        b"time_zone: America/Detroit\nfollow_ups: {}\ntime_zone: Europe/Paris\n",
        "key 'time_zone' appears twice (first on line 1)",
    ),
]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("content", "fragment"), [c[1:] for c in OPS_CASES], ids=[c[0] for c in OPS_CASES]
)
def test_operations_file_is_refused_naming_file_and_entry(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "ops.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_ops_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and fragment in message
    assert len(message) < 1_000


@pytest.mark.unit
def test_operations_labels_keep_a_bidi_override(tmp_path: Path) -> None:
    """The contract does not forbid U+202E in a label: it is kept as written."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT_OPS_CONFIG.read_text(encoding="utf-8"))
    data["departments"][0]["label"] = "Loans \u202eSNAOL"
    path = tmp_path / "ops.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_ops_config(path).departments[0].label == "Loans \u202eSNAOL"


# --- tier program ------------------------------------------------------------------------------


def _program(**changes: Any) -> bytes:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_PROGRAM_PATH.read_text(encoding="utf-8"))
    for key, value in changes.items():
        data[key] = value
    return yaml.safe_dump(data).encode()


def _unknown_item() -> bytes:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_PROGRAM_PATH.read_text(encoding="utf-8"))
    data["items"]["g9_bogus"] = {"points": 1}
    return yaml.safe_dump(data).encode()


PROGRAM_CASES: list[tuple[str, bytes, str]] = [
    ("not-utf8", b"name: Caf\xe9\n", "not UTF-8"),
    ("deep-nesting", DEEP.encode(), "nested too deeply"),
    ("huge-number", f"name: x\nhousehold_scoring: {HUGE}\n".encode(), "4300"),
    ("empty-file", b"", "must be a YAML mapping"),
    ("unknown-item", _unknown_item(), "item g9_bogus: unknown item id"),
    ("name-201-chars", _program(name="N" * 201), "name"),
    ("unknown-time-zone", _program(time_zone="Mars/Olympus"), "time_zone"),
    (
        "duplicate-key",
        _program() + b"name: A second name\n",
        "key 'name' appears twice",
    ),
]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("content", "fragment"), [c[1:] for c in PROGRAM_CASES], ids=[c[0] for c in PROGRAM_CASES]
)
def test_program_file_fails_the_run_at_once_naming_the_problem(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    """What ``prepare`` does with the program: a non-retryable ``ProgramError`` (no retries,
    nothing written), never a parser error Temporal would retry as infrastructure."""
    path = tmp_path / "program.yaml"
    path.write_bytes(content)
    with pytest.raises(ApplicationError) as caught:
        load_program(path)
    assert (caught.value.type, caught.value.non_retryable) == ("ProgramError", True)
    message = caught.value.message
    assert message.startswith(f"{path}: ") and fragment in message


# --- tier extract ------------------------------------------------------------------------------


def _extract_folder(tmp_path: Path, **tables: list[dict[str, Any]]) -> Path:
    folder = tmp_path / "2026-05"
    folder.mkdir()
    base: dict[str, list[dict[str, Any]]] = {"members": [{"member_id": "1"}]}
    for name, frame in extract(**{**base, **tables}).tables().items():
        frame.write_csv(folder / f"{name}.csv", date_format="%Y-%m-%d", null_value="")
    return folder


EXTRACT_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("member-id-letters", {"members": [{"member_id": "12ab"}]}, "member_id must be 1-12 digits"),
    ("member-id-13-digits", {"members": [{"member_id": "1" * 13}]}, "member_id must be 1-12"),
    (
        "duplicate-member-other-content",
        {"members": [{"member_id": "7"}, {"member_id": "7", "household_id": "H"}]},
        "duplicate member_id",
    ),
    ("account-of-unknown-member", {"accounts": [{"member_id": "404"}]}, "member not in members"),
]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("tables", "fragment"), [c[1:] for c in EXTRACT_CASES], ids=[c[0] for c in EXTRACT_CASES]
)
def test_extract_fails_the_run_at_once_naming_file_and_row(
    tmp_path: Path, tables: dict[str, Any], fragment: str
) -> None:
    folder = _extract_folder(tmp_path, **tables)
    with pytest.raises(ApplicationError) as caught:
        read_extract(folder)
    assert (caught.value.type, caught.value.non_retryable) == ("ExtractError", True)
    assert fragment in str(caught.value) and ".csv" in str(caught.value)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [("balance", HUGE, "balance"), ("opened_on", "10000-01-01", "opened_on")],
    ids=["balance-5000-digits", "date-year-10000"],
)
def test_extract_values_out_of_range_name_the_column(
    tmp_path: Path, column: str, value: str, fragment: str
) -> None:
    folder = _extract_folder(tmp_path, accounts=[{"member_id": "1"}])
    file = folder / "accounts.csv"
    header, row = file.read_text(encoding="utf-8").splitlines()[:2]
    cells = row.split(",")
    cells[header.split(",").index(column)] = value
    file.write_text(f"{header}\n{','.join(cells)}\n", encoding="utf-8")
    with pytest.raises(ApplicationError) as caught:
        read_extract(folder)
    assert fragment in str(caught.value) and HUGE not in str(caught.value)


# --- command line ------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    "args",
    [
        ["tiers", "run", "--period", "2026-13"],
        ["tiers", "run", "--period", "2026-1\u202e"],
        ["tiers", "report", "--period", "26-01"],
        ["tiers", "generate", "--members", "1", "--period", "2026-00"],
    ],
    ids=["run-month-13", "run-bidi", "report-short-year", "generate-month-00"],
)
def test_a_bad_period_exits_2_naming_the_option(tmp_path: Path, args: list[str]) -> None:
    """Refused while parsing: no server is contacted and no extract folder is written."""
    env = {"MEMBERFLOW_TIER_EXTRACT_ROOT": str(tmp_path), "MEMBERFLOW_STATE_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2
    assert "--period" in result.output and "period must be YYYY-MM" in result.output
    assert list(tmp_path.iterdir()) == []


def _employees_add(postgres_url: str, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``memberflow employees add`` as an operator runs it, against this session's database."""
    env = {
        **os.environ,
        "MEMBERFLOW_DATABASE_URL": postgres_url,
        "MEMBERFLOW_STATE_DIR": str(state),
    }
    command = [sys.executable, "-c", "from workers.app.cli import main; main()"]
    return subprocess.run(
        [*command, "employees", "add", *args], env=env, capture_output=True, text=True, timeout=120
    )


EMPLOYEE_CASES = [
    ("role-owner", ["HZROLE", "--name", "Zed", "--role", "owner"], "role must be one of"),
    (
        "unknown-department",
        ["HZDEPT", "--name", "Zed", "--department", "LOANS", "--department", "MORTGAGE"],
        "unknown department MORTGAGE",
    ),
    ("id-17-chars", ["H" * 17, "--name", "Zed"], "employee ids are 1-16 characters"),
    ("id-bidi", ["HZ\u202eX", "--name", "Zed"], "employee ids are 1-16 characters"),
    ("name-81-chars", ["HZNAME", "--name", "N" * 81], "names are 1-80 characters"),
    ("unknown-supervisor", ["HZSUP", "--name", "Zed", "--supervisor", "NOBODY"], "NOBODY"),
    ("self-supervisor", ["HZSELF", "--name", "Zed", "--supervisor", "HZSELF"], "supervise"),
]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("args", "fragment"), [c[1:] for c in EMPLOYEE_CASES], ids=[c[0] for c in EMPLOYEE_CASES]
)
def test_employees_add_refuses_exit_2_and_writes_no_employee(
    postgres_url: str, tmp_path: Path, args: list[str], fragment: str
) -> None:
    result = _employees_add(postgres_url, tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert fragment in " ".join(result.stdout.split())  # rich wraps long lines
    assert "bearer token" not in result.stdout
    sql = "SELECT count(*) FROM employees WHERE id = $1"
    assert asyncio.run(count(postgres_url, sql, args[0])) == 0


@pytest.mark.integration
def test_employees_add_keeps_a_bidi_override_in_the_name(postgres_url: str, tmp_path: Path) -> None:
    """The contract does not forbid U+202E in a name: stored as written."""
    name = "Zoe \u202eeoZ"
    result = _employees_add(postgres_url, tmp_path, "HZBIDI", "--name", name)
    assert result.returncode == 0, result.stdout + result.stderr
    sql = "SELECT count(*) FROM employees WHERE id = 'HZBIDI' AND name = $1"
    assert asyncio.run(count(postgres_url, sql, name)) == 1
