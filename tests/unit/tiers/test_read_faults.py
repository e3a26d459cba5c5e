"""Unreadable input files are the file's fault (refused at once), storage faults are retried.

A corrupt, truncated, empty or non-UTF-8 extract file, a malformed CSV row or a directory in a
file's place is an ``ExtractError`` naming the file and what is wrong (never member data), so
the run fails without retries; an I/O error of the storage itself stays what it is, so Temporal
retries it as infrastructure.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from tests.unit.tiers.frames import extract
from workers.tiers.scoring.extract import ExtractError, read_extract
from workers.tiers.scoring.files import fault_of, read_faults

pytestmark = pytest.mark.unit


def _tables() -> dict[str, pl.DataFrame]:
    data = extract(
        members=[{"member_id": "1"}, {"member_id": "2", "household_id": "H"}],
        accounts=[
            {"member_id": "1", "balance": Decimal("12.34")},
            {"member_id": "2", "suffix": "001", "closed_on": None},
        ],
        credit_scores=[{"member_id": "1", "score": 700}],
        otb=[{"member_id": "2", "otb_type": "SAVE", "balance": Decimal("1.00")}],
        activity=[{"member_id": "1", "atm_transactions": 2}],
    )
    return data.tables()


def _folder(tmp_path: Path, fmt: str) -> Path:
    folder = tmp_path / "2026-05"
    folder.mkdir(parents=True)
    for name, frame in _tables().items():
        if fmt == "csv":
            frame.write_csv(folder / f"{name}.csv", date_format="%Y-%m-%d", null_value="")
        else:
            frame.write_parquet(folder / f"{name}.parquet")
    return folder


def _refusal(folder: Path) -> str:
    with pytest.raises(ExtractError) as caught:
        read_extract(folder)
    return str(caught.value)


def _csv_lines(file: Path) -> list[bytes]:
    return file.read_bytes().splitlines(keepends=True)


def test_truncated_parquet_names_file_and_fault(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "parquet")
    file = folder / "members.parquet"
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    message = _refusal(folder)
    assert message.startswith("members.parquet: not a readable Parquet file")
    assert message.endswith(f"[{file}]")


def test_garbage_bytes_in_place_of_parquet(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "parquet")
    (folder / "otb.parquet").write_bytes(b"member_id,otb_type\n1,SAVE\n" * 10)
    assert _refusal(folder).startswith("otb.parquet: not a readable Parquet file")


def test_parquet_corrupt_after_a_valid_footer(tmp_path: Path) -> None:
    # The footer (schema) reads, the data pages do not: the failure comes from the full read.
    folder = _folder(tmp_path, "parquet")
    file = folder / "accounts.parquet"
    frame = pl.concat([_tables()["accounts"]] * 5_000)
    frame.write_parquet(file, compression="zstd", statistics=False)
    data = bytearray(file.read_bytes())
    footer = len(data) - 8 - int.from_bytes(data[-8:-4], "little")  # data pages end there
    for i in range(footer // 4, footer // 2):
        data[i] = (data[i] * 7 + 13) % 256
    file.write_bytes(bytes(data))
    assert pl.read_parquet_schema(file)  # the footer is intact
    assert _refusal(folder).startswith("accounts.parquet: not a readable Parquet file")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_empty_file(tmp_path: Path, fmt: str) -> None:
    folder = _folder(tmp_path, fmt)
    (folder / f"activity.{fmt}").write_bytes(b"")
    assert _refusal(folder).startswith(f"activity.{fmt}: empty file")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_directory_in_place_of_a_file(tmp_path: Path, fmt: str) -> None:
    folder = _folder(tmp_path, fmt)
    (folder / f"credit_scores.{fmt}").unlink()
    (folder / f"credit_scores.{fmt}").mkdir()
    assert _refusal(folder).startswith(f"credit_scores.{fmt}: a directory, not a file")


def test_csv_with_invalid_utf8_in_a_value_names_the_line(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "csv")
    file = folder / "accounts.csv"
    lines = _csv_lines(file)
    lines[2] = lines[2].replace(b"MEMBER1", b"MEMB\xe9R1")
    file.write_bytes(b"".join(lines))
    message = _refusal(folder)
    assert message.startswith("accounts.csv: line 3: not UTF-8")
    assert message.endswith(f"[{file}]")


def test_csv_with_invalid_utf8_in_the_header(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "csv")
    file = folder / "members.csv"
    file.write_bytes(file.read_bytes().replace(b"joined_on", b"joined_\xff\xfeon", 1))
    assert _refusal(folder).startswith("members.csv: line 1: not UTF-8")


def test_csv_with_invalid_utf8_in_an_ignored_column(tmp_path: Path) -> None:
    # The whole file must be UTF-8, not only the columns that are read.
    folder = _folder(tmp_path, "csv")
    file = folder / "otb.csv"
    lines = _csv_lines(file)
    lines[0] = lines[0].rstrip(b"\n") + b",note\n"
    lines[1] = lines[1].rstrip(b"\n") + b",caf\xe9\n"
    file.write_bytes(b"".join(lines))
    assert _refusal(folder).startswith("otb.csv: line 2: not UTF-8")


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (lambda line: line.rstrip(b"\n") + b",extra\n", 14),
        # Dropping the last field leaves closed_on (nullable) empty: silently accepted before.
        (lambda line: line.rstrip(b"\n").rsplit(b",", 1)[0] + b"\n", 12),
    ],
    ids=["more-fields", "fewer-fields"],
)
def test_csv_row_with_wrong_field_count(
    tmp_path: Path, change: Callable[[bytes], bytes], fields: int
) -> None:
    folder = _folder(tmp_path, "csv")
    file = folder / "accounts.csv"
    lines = _csv_lines(file)
    lines[2] = change(lines[2])
    file.write_bytes(b"".join(lines))
    assert _refusal(folder).startswith(
        f"accounts.csv: row 2 (line 3): {fields} fields where the header has 13"
    )


def test_csv_with_extra_columns_still_checks_field_count(tmp_path: Path) -> None:
    # Extra columns are ignored, but a row longer than the header is still malformed.
    folder = _folder(tmp_path, "csv")
    file = folder / "otb.csv"
    lines = _csv_lines(file)
    lines[0] = lines[0].rstrip(b"\n") + b",note\n"
    lines[1] = lines[1].rstrip(b"\n") + b",a,b\n"
    file.write_bytes(b"".join(lines))
    assert _refusal(folder).startswith("otb.csv: row 1 (line 2): 5 fields where the header has 4")


def test_csv_with_broken_quoting_does_not_quote_member_data(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "csv")
    file = folder / "members.csv"
    lines = _csv_lines(file)
    lines.append(b'"123456789012,,2026-01-01,true,false,\n')
    file.write_bytes(b"".join(lines))
    message = _refusal(folder)
    assert message.startswith("members.csv: ")
    assert "123456789012" not in message


def test_valid_csv_with_quoted_separators_and_crlf_reads(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "csv")
    file = folder / "otb.csv"
    file.write_bytes(b'member_id,otb_type,balance,note\r\n2,SAVE,1.00,"a, b"\r\n')
    assert read_extract(folder).otb.height == 1


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b""], ids=["lf", "crlf", "no-line-end"])
def test_csv_of_a_header_alone_reads_as_no_rows(tmp_path: Path, end: bytes) -> None:
    folder = _folder(tmp_path, "csv")
    file = folder / "otb.csv"
    file.write_bytes(_csv_lines(file)[0].rstrip(b"\r\n") + end)
    assert read_extract(folder).otb.height == 0


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "not UTF-8"),
        (FileNotFoundError(errno.ENOENT, "gone"), "missing file"),
        (IsADirectoryError(errno.EISDIR, "dir"), "a directory, not a file"),
        (PermissionError(errno.EACCES, "denied"), "not readable (permission denied)"),
        (pl.exceptions.ComputeError("parquet: out of spec"), "not a readable Parquet file"),
        (pa.ArrowInvalid("CSV parse error"), "not a readable Parquet file"),
    ],
)
def test_file_faults(error: BaseException, reason: str) -> None:
    found = fault_of(error, Path("members.parquet"))
    assert found is not None and found.startswith(reason)


@pytest.mark.parametrize(
    "error",
    [OSError(errno.EIO, "Input/output error"), OSError(errno.ESTALE, "stale"), MemoryError()],
)
def test_storage_and_memory_faults_are_infrastructure(error: BaseException) -> None:
    assert fault_of(error, Path("members.parquet")) is None


def test_read_faults_converts_file_faults_and_lets_infrastructure_through(tmp_path: Path) -> None:
    file = tmp_path / "members.csv"

    def refuse(reason: str) -> Exception:
        return ExtractError(f"{file.name}: {reason}")

    with pytest.raises(ExtractError, match=r"^members\.csv: not UTF-8"), read_faults(file, refuse):
        b"\xff".decode("utf-8")
    with pytest.raises(OSError) as caught, read_faults(file, refuse):
        raise OSError(errno.EIO, "Input/output error")
    assert caught.value.errno == errno.EIO and not isinstance(caught.value, ExtractError)
    with pytest.raises(ExtractError, match="as it was"), read_faults(file, refuse):
        raise ExtractError("as it was")


def test_own_files_missing_is_infrastructure(tmp_path: Path) -> None:
    # Shard files are written by the run itself: a missing one is storage's fault (retried),
    # a corrupt one is not (a retry reads the same bytes).
    file = tmp_path / "members.parquet"
    assert fault_of(FileNotFoundError(errno.ENOENT, "gone"), file, supplied=False) is None
    assert fault_of(pl.exceptions.ComputeError("x"), file, supplied=False) is not None
