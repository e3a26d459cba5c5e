"""Extract validation: every failure names file, column and first offending row."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from tests.unit.tiers.frames import extract
from workers.tiers.generator import write_extract
from workers.tiers.scoring.extract import (
    TABLE_NAMES,
    ExtractError,
    polars_schema,
    read_extract,
)

pytestmark = pytest.mark.unit


def small() -> dict[str, pl.DataFrame]:
    data = extract(
        members=[{"member_id": "1", "household_id": "H"}, {"member_id": "2"}, {"member_id": "3"}],
        accounts=[
            {"member_id": "1", "balance": Decimal("12.34")},
            {"member_id": "2", "suffix": "001", "balance": Decimal("-0.50")},
            {
                "member_id": "3",
                "suffix": "002",
                "file": "MEMBER5",
                "application_type": None,
                "loan_category": "AUT",
            },
        ],
        credit_scores=[{"member_id": "1", "score": 700}],
        otb=[{"member_id": "2", "otb_type": "SAVE", "balance": Decimal("1.00")}],
        activity=[{"member_id": "1", "atm_transactions": 2}, {"member_id": "3"}],
    )
    return data.tables()


def write(folder: Path, tables: dict[str, pl.DataFrame], fmt: str = "parquet") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.write_csv(folder / f"{name}.csv")
        else:
            frame.write_parquet(folder / f"{name}.parquet")
    return folder


def failure(folder: Path) -> str:
    with pytest.raises(ExtractError) as caught:
        read_extract(folder)
    return str(caught.value)


def test_valid_extract_reads_with_exact_types(tmp_path: Path) -> None:
    folder = write(tmp_path / "2026-05", small())
    loaded = read_extract(folder)
    for name in TABLE_NAMES:
        assert loaded.tables()[name].schema == polars_schema(name)
    assert loaded.accounts["balance"].to_list() == [
        Decimal("12.34"),
        Decimal("-0.50"),
        Decimal("0.00"),
    ]
    assert folder.is_dir()


def test_csv_and_parquet_give_the_same_frames(tmp_path: Path) -> None:
    tables = small()
    a = read_extract(write(tmp_path / "p", tables))
    b = read_extract(write(tmp_path / "c", tables, "csv"))
    for name in TABLE_NAMES:
        assert a.tables()[name].equals(b.tables()[name]), name


def test_generated_extract_same_in_csv_and_parquet(tmp_path: Path) -> None:
    from workers.tiers.generator import generate_frames

    data = generate_frames("2026-05", 300, 5)
    a = read_extract(write_extract(data, tmp_path / "p"))
    b = read_extract(write_extract(data, tmp_path / "c", "csv"))
    for name in TABLE_NAMES:
        assert a.tables()[name].equals(b.tables()[name]), name
        assert a.tables()[name].equals(data.tables()[name]), name


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    tables = small()
    tables["members"] = tables["members"].with_columns(pl.lit("x").alias("nickname"))
    loaded = read_extract(write(tmp_path, tables))
    assert "nickname" not in loaded.members.columns


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_missing_file(tmp_path: Path, fmt: str) -> None:
    folder = write(tmp_path, small(), fmt)
    (folder / f"otb.{fmt}").unlink()
    assert "otb.parquet: missing file" in failure(folder)


def test_missing_folder(tmp_path: Path) -> None:
    assert "extract folder not found" in failure(tmp_path / "2026-05")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_missing_column(tmp_path: Path, fmt: str) -> None:
    tables = small()
    tables["accounts"] = tables["accounts"].drop("delinquent_months")
    message = failure(write(tmp_path, tables, fmt))
    assert f"accounts.{fmt}: column delinquent_months: missing column" in message


def test_wrong_type_parquet(tmp_path: Path) -> None:
    tables = small()
    tables["accounts"] = tables["accounts"].with_columns(pl.col("balance").cast(pl.Float64))
    message = failure(write(tmp_path, tables))
    assert (
        "accounts.parquet: column balance: expected decimal(14,2), found Float64 (from row 1)"
        in message
    )


@pytest.mark.parametrize(
    ("table", "column", "value", "row"),
    [
        ("accounts", "balance", "1.234", 2),
        ("accounts", "balance", "ten", 2),
        ("members", "joined_on", "2026-02-30", 2),
        ("members", "email_valid", "yes", 2),
        ("credit_scores", "score", "7.5", 1),
        ("activity", "atm_transactions", "many", 2),
    ],
)
def test_wrong_type_csv_names_row_and_line(
    tmp_path: Path, table: str, column: str, value: str, row: int
) -> None:
    tables = small()
    frame = tables[table].with_columns(pl.col(column).cast(pl.String))
    values = frame[column].to_list()
    values[row - 1] = value
    tables[table] = frame.with_columns(pl.Series(column, values))
    message = failure(write(tmp_path, tables, "csv"))
    assert f"{table}.csv: column {column}: row {row} (line {row + 1}): not a" in message


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_null_where_not_allowed(tmp_path: Path, fmt: str) -> None:
    tables = small()
    tables["accounts"] = tables["accounts"].with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(None).otherwise(pl.col("file")).alias("file")
    )
    assert "column file: row 3" in failure(write(tmp_path, tables, fmt))


@pytest.mark.parametrize("table", ["members", "activity"])
def test_duplicate_member_id(tmp_path: Path, table: str) -> None:
    tables = small()
    tables[table] = pl.concat([tables[table], tables[table].head(1)])
    rows = tables[table].height
    message = failure(write(tmp_path, tables))
    assert f"{table}.parquet: column member_id: row {rows}: duplicate member_id" in message


def test_account_of_unknown_member(tmp_path: Path) -> None:
    tables = small()
    tables["accounts"] = tables["accounts"].with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit("99"))
        .otherwise(pl.col("member_id"))
        .alias("member_id")
    )
    message = failure(write(tmp_path, tables))
    assert "accounts.parquet: column member_id: row 2: member not in members" in message
    assert "99" not in message.split("[")[0]  # no member data in the message


def test_bad_member_id_and_file_values(tmp_path: Path) -> None:
    tables = small()
    tables["members"] = tables["members"].with_columns(pl.Series("member_id", ["1", "2", "12a"]))
    assert "members.parquet: column member_id: row 3: member_id must be 1-12 digits" in failure(
        write(tmp_path / "a", tables)
    )
    tables = small()
    tables["accounts"] = tables["accounts"].with_columns(
        pl.Series("file", ["MEMBER1", "MEMBER9", "MEMBER5"])
    )
    assert "accounts.parquet: column file: row 2: file must be one of" in failure(
        write(tmp_path / "b", tables)
    )


def test_closed_accounts_are_kept_but_checked(tmp_path: Path) -> None:
    from datetime import date

    tables = small()
    tables["accounts"] = tables["accounts"].with_columns(
        pl.lit(date(2026, 1, 2)).alias("closed_on")
    )
    assert read_extract(write(tmp_path, tables)).accounts.height == 3
