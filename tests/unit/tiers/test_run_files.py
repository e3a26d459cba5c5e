"""The run's files: how the steps report unreadable inputs, and where shard files go and leave.

The steps turn a file's fault into a non-retryable ``ApplicationError`` (``ExtractError``,
``ProgramError`` or ``ShardError``) and leave storage errors as they are (retried). Shard folders
hold member balances: the work-folder helpers remove a run's folder, and a new run of a period
removes what older runs of that period left behind.
"""

from __future__ import annotations

import errno
from pathlib import Path

import polars as pl
import pytest
from temporalio.exceptions import ApplicationError

from tests.unit.tiers.frames import PERIOD
from workers.tiers.generator import generate_frames, write_extract
from workers.tiers.runs import steps as runs
from workers.tiers.runs import workspace
from workers.tiers.scoring.program import DEFAULT_PROGRAM_PATH

pytestmark = pytest.mark.unit

NO_PREVIOUS = pl.DataFrame(schema={"member_id": pl.String, "level_code": pl.String})


def _refused(error: pytest.ExceptionInfo[ApplicationError], kind: str) -> str:
    assert error.value.type == kind and error.value.non_retryable
    return error.value.message


def test_corrupt_extract_is_a_non_retryable_extract_error(tmp_path: Path) -> None:
    folder = write_extract(generate_frames(PERIOD, 50, 1), tmp_path / PERIOD, "csv")
    header, first, rest = (folder / "activity.csv").read_bytes().split(b"\n", 2)
    (folder / "activity.csv").write_bytes(b"\n".join([header, first + b"\xff", rest]))
    with pytest.raises(ApplicationError) as caught:
        runs.validate(DEFAULT_PROGRAM_PATH, folder, PERIOD)
    assert _refused(caught, "ExtractError").startswith("activity.csv: line 2: not UTF-8")


def test_refusal_carries_no_parser_message_into_the_history(tmp_path: Path) -> None:
    # Temporal records an error's cause chain in the workflow history: polars' message for
    # this row quotes it, member id included, so nothing may be chained to the refusal.
    folder = write_extract(generate_frames(PERIOD, 50, 1), tmp_path / PERIOD, "csv")
    with (folder / "members.csv").open("ab") as members:
        members.write(b'"123456789012,,2026-01-01,true,false,\n')
    with pytest.raises(ApplicationError) as caught:
        runs.validate(DEFAULT_PROGRAM_PATH, folder, PERIOD)
    assert _refused(caught, "ExtractError").startswith("members.csv: ")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "123456789012" not in caught.value.message


def test_program_not_utf8_is_a_program_error(tmp_path: Path) -> None:
    program = tmp_path / "program.yaml"
    program.write_bytes(DEFAULT_PROGRAM_PATH.read_bytes().replace(b"Basic", b"B\xe4sic", 1))
    with pytest.raises(ApplicationError) as caught:
        runs.load_program(program)
    assert _refused(caught, "ProgramError") == f"{program}: not UTF-8"


def test_program_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ApplicationError) as caught:
        runs.load_program(tmp_path)
    assert _refused(caught, "ProgramError") == f"{tmp_path}: a directory, not a file"


def test_missing_program_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(ApplicationError) as caught:
        runs.load_program(tmp_path / "nope.yaml")
    assert "nope.yaml" in _refused(caught, "ProgramError")


def _shards(tmp_path: Path) -> list[Path]:
    frames = generate_frames(PERIOD, 60, 2).tables()
    written = runs.write_shards(frames, NO_PREVIOUS, tmp_path / "run", 2)
    return [Path(shard.folder) for shard in written]


def test_corrupt_shard_file_is_a_non_retryable_shard_error(tmp_path: Path) -> None:
    shard = _shards(tmp_path)[1]
    (shard / "accounts.parquet").write_bytes(b"PAR1 but not really")
    with pytest.raises(ApplicationError) as caught:
        runs.score_shard_folder(DEFAULT_PROGRAM_PATH, shard, PERIOD)
    message = _refused(caught, "ShardError")
    assert message.startswith("shard-001/accounts.parquet: not a readable Parquet file")
    with pytest.raises(ApplicationError) as caught:
        (shard / "members.parquet").write_bytes(b"")
        runs.shard_member_ids(shard)
    assert _refused(caught, "ShardError").startswith("shard-001/members.parquet: empty file")


def test_missing_shard_file_stays_a_storage_error(tmp_path: Path) -> None:
    # The shard folder lives on storage the workers share: a missing file is retried.
    shard = _shards(tmp_path)[0]
    (shard / "previous.parquet").unlink()
    with pytest.raises(FileNotFoundError) as caught:
        runs.score_shard_folder(DEFAULT_PROGRAM_PATH, shard, PERIOD)
    assert caught.value.errno in (errno.ENOENT, None)


def _run_folder(root: Path, period: str, run_id: str) -> Path:
    folder = workspace.run_folder(root, period, run_id)
    (folder / "shard-000").mkdir(parents=True)
    (folder / "shard-000" / "accounts.parquet").write_bytes(b"balances")
    return folder


def test_run_folder_layout(tmp_path: Path) -> None:
    assert workspace.run_folder(tmp_path, "2026-05", "r1") == tmp_path / "2026-05" / "r1"
    assert workspace.work_root(tmp_path / "extracts") == tmp_path / "extracts" / ".work"


def test_remove_run_removes_the_folder_and_an_empty_period_folder(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path, "2026-05", "r1")
    workspace.remove_run(folder)
    assert not folder.exists() and not (tmp_path / "2026-05").exists()
    workspace.remove_run(folder)  # already gone: nothing to do, no error


def test_remove_run_keeps_a_period_folder_with_other_runs(tmp_path: Path) -> None:
    first = _run_folder(tmp_path, "2026-05", "r1")
    second = _run_folder(tmp_path, "2026-05", "r2")
    workspace.remove_run(first)
    assert not first.exists() and second.is_dir()


def test_new_run_removes_older_runs_of_its_period_only(tmp_path: Path) -> None:
    stale = _run_folder(tmp_path, "2026-05", "terminated-run")
    own = _run_folder(tmp_path, "2026-05", "this-run")
    other_period = _run_folder(tmp_path, "2026-04", "another-run")
    removed = workspace.remove_other_runs(tmp_path, "2026-05", "this-run")
    assert removed == [stale]
    assert not stale.exists() and own.is_dir() and other_period.is_dir()
    assert workspace.remove_other_runs(tmp_path, "2026-06", "x") == []  # no folder yet


def test_run_folders_lists_period_and_run(tmp_path: Path) -> None:
    _run_folder(tmp_path, "2026-05", "r1")
    _run_folder(tmp_path, "2026-04", "r2")
    (tmp_path / "notes.txt").write_text("not a period folder")
    assert sorted(workspace.run_folders(tmp_path)) == [
        ("2026-04", "r2", tmp_path / "2026-04" / "r2"),
        ("2026-05", "r1", tmp_path / "2026-05" / "r1"),
    ]
