"""Read and validate a monthly member extract (docs/tier-program.md) into typed polars frames.

Everything is checked before any scoring starts: a missing file, a file that cannot be read (not
Parquet, truncated, empty, not UTF-8, a CSV row with the wrong number of fields, a directory;
``files.py`` tells these from storage errors, which are not the extract's fault), a missing
column, a wrong type, a null where none is allowed, a duplicate ``member_id`` in ``members``
or ``activity`` or an account whose member is not in ``members`` raises :class:`ExtractError`
naming the file, the column and the first offending row (or line). Messages never quote member
data (ids, balances).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import polars as pl

from contracts.vocabulary import MEMBER_ID_PATTERN
from workers.tiers.scoring.files import check_csv_rows, check_file, check_utf8, read_faults

TABLE_NAMES: tuple[str, ...] = ("members", "accounts", "credit_scores", "otb", "activity")
FILES: tuple[str, ...] = ("MEMBER1", "MEMBER2", "MEMBER3", "MEMBER4", "MEMBER5", "MEMBER6")
MONEY = pl.Decimal(14, 2)


class ExtractError(ValueError):
    """The extract cannot be scored; the message names file, column and first bad row."""


class Kind(StrEnum):
    """Column types of the extract format."""

    STRING = "string"
    INT = "int"
    BOOL = "bool"
    DATE = "date"
    DECIMAL = "decimal(14,2)"


@dataclass(frozen=True)
class Column:
    """One column of an extract table."""

    name: str
    kind: Kind
    nullable: bool = False


_K = Kind
SCHEMAS: dict[str, tuple[Column, ...]] = {
    "members": (
        Column("member_id", _K.STRING),
        Column("household_id", _K.STRING, nullable=True),
        Column("joined_on", _K.DATE),
        Column("email_valid", _K.BOOL),
        Column("wrong_address", _K.BOOL),
        Column("atm_service_charge_code", _K.INT, nullable=True),
    ),
    "accounts": (
        Column("member_id", _K.STRING),
        Column("suffix", _K.STRING),
        Column("account_type", _K.STRING),
        Column("file", _K.STRING),
        Column("application_type", _K.STRING, nullable=True),
        Column("dividend_application", _K.STRING, nullable=True),
        Column("ira", _K.BOOL),
        Column("ira_plan", _K.STRING, nullable=True),
        Column("loan_category", _K.STRING, nullable=True),
        Column("balance", _K.DECIMAL),
        Column("delinquent_months", _K.INT),
        Column("opened_on", _K.DATE),
        Column("closed_on", _K.DATE, nullable=True),
    ),
    "credit_scores": (
        Column("member_id", _K.STRING),
        Column("score", _K.INT),
        Column("scored_on", _K.DATE),
    ),
    "otb": (
        Column("member_id", _K.STRING),
        Column("otb_type", _K.STRING),
        Column("balance", _K.DECIMAL),
    ),
    "activity": (
        Column("member_id", _K.STRING),
        Column("atm_transactions", _K.INT),
        Column("debit_signature_count", _K.INT),
        Column("debit_signature_amount", _K.DECIMAL),
        Column("debit_pin_count", _K.INT),
        Column("debit_pin_amount", _K.DECIMAL),
        Column("audio_response_used", _K.BOOL),
        Column("online_banking_used", _K.BOOL),
        Column("estatements_enrolled", _K.BOOL),
        Column("bill_pay_enrolled", _K.BOOL),
        Column("enotices_enrolled", _K.BOOL),
        Column("text_banking_enrolled", _K.BOOL),
        Column("payroll_deposit_amount", _K.DECIMAL),
        Column("ach_deposit_amount", _K.DECIMAL),
        Column("aft_loan_payments", _K.INT),
        Column("ach_loan_payments", _K.INT),
    ),
}
"""Every table's columns in file order, with type and nullability."""

_DTYPES: dict[Kind, pl.DataType] = {
    Kind.STRING: pl.String(),
    Kind.INT: pl.Int64(),
    Kind.BOOL: pl.Boolean(),
    Kind.DATE: pl.Date(),
    Kind.DECIMAL: MONEY,
}

# CSV text accepted per type (empty = null is handled by the reader).
_CSV_PATTERNS: dict[Kind, str] = {
    Kind.INT: r"^[+-]?[0-9]{1,18}$",
    Kind.BOOL: r"^(true|false|TRUE|FALSE|True|False)$",
    Kind.DATE: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    Kind.DECIMAL: r"^[+-]?[0-9]{1,12}(\.[0-9]{1,2})?$",
}


def polars_schema(table: str) -> pl.Schema:
    """The exact polars schema of ``table`` after reading."""
    return pl.Schema({c.name: _DTYPES[c.kind] for c in SCHEMAS[table]})


@dataclass(frozen=True)
class Extract:
    """The five typed tables of one month's extract."""

    members: pl.DataFrame
    accounts: pl.DataFrame
    credit_scores: pl.DataFrame
    otb: pl.DataFrame
    activity: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables by name."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def __iter__(self) -> Iterator[tuple[str, pl.DataFrame]]:
        """``(name, frame)`` pairs in table order."""
        return iter(self.tables().items())

    @classmethod
    def of(cls, tables: Mapping[str, pl.DataFrame] | Extract) -> Extract:
        """An ``Extract`` from a mapping of table name to frame (or itself)."""
        if isinstance(tables, Extract):
            return tables
        return cls(**{name: tables[name] for name in TABLE_NAMES})


class _Rows:
    """How rows are named in messages: data row number, plus the line for CSV files."""

    def __init__(self, csv: bool) -> None:
        self.csv = csv

    def __call__(self, index: int) -> str:
        row = f"row {index + 1}"
        return f"{row} (line {index + 2})" if self.csv else row


def _first(mask: pl.Series) -> int | None:
    """Index of the first true value of a boolean series, or None."""
    hits = mask.fill_null(False).arg_true()
    return None if hits.is_empty() else int(hits[0])


def _fail(file: Path, column: str, what: str) -> ExtractError:
    return ExtractError(f"{file.name}: column {column}: {what} [{file}]")


def _find_file(folder: Path, table: str) -> Path:
    for suffix in (".parquet", ".csv"):
        candidate = folder / f"{table}{suffix}"
        # exists(), not is_file(): a directory in the file's place is refused as such (by
        # check_file), rather than reported missing or silently passed over for the CSV.
        if candidate.exists():
            return candidate
    raise ExtractError(f"{table}.parquet: missing file (nor {table}.csv) in {folder}")


def _convert_parquet_column(series: pl.Series, column: Column, file: Path) -> pl.Series:
    dtype, expected = series.dtype, _DTYPES[column.kind]
    if dtype == pl.Null:
        return series.cast(expected)
    ok = (
        (column.kind is Kind.STRING and dtype in (pl.String, pl.Categorical, pl.Enum))
        or (column.kind is Kind.INT and dtype.is_integer())
        or (column.kind is Kind.BOOL and dtype == pl.Boolean)
        or (column.kind is Kind.DATE and dtype == pl.Date)
        or (column.kind is Kind.DECIMAL and isinstance(dtype, pl.Decimal) and dtype.scale <= 2)
    )
    if not ok:
        first = _first(series.is_not_null())
        row = _Rows(False)(first if first is not None else 0)
        raise _fail(file, column.name, f"expected {column.kind}, found {dtype} (from {row})")
    try:
        return series.cast(expected, strict=True)
    except pl.exceptions.PolarsError as err:
        raise _fail(file, column.name, f"values do not fit {column.kind}") from err


def _convert_csv_column(series: pl.Series, column: Column, file: Path) -> pl.Series:
    if column.kind is Kind.STRING:
        return series
    bad = series.is_not_null() & ~series.str.contains(_CSV_PATTERNS[column.kind])
    first = _first(bad)
    if first is None and column.kind is Kind.DATE:
        # The shape is right; now the calendar (2026-02-30 is not a date).
        parsed = series.str.to_date("%Y-%m-%d", strict=False)
        first = _first(series.is_not_null() & parsed.is_null())
        if first is None:
            return parsed
    if first is not None:
        raise _fail(file, column.name, f"{_Rows(True)(first)}: not a {column.kind} value")
    if column.kind is Kind.BOOL:
        return series.str.to_lowercase() == "true"
    if column.kind is Kind.INT:
        return series.str.strip_prefix("+").cast(pl.Int64)
    return series.str.strip_prefix("+").cast(MONEY)


def _refusal(file: Path) -> Callable[[str], ExtractError]:
    return lambda reason: ExtractError(f"{file.name}: {reason} [{file}]")


def _read_table(folder: Path, table: str) -> tuple[pl.DataFrame, Path]:
    file = _find_file(folder, table)
    columns = SCHEMAS[table]
    csv = file.suffix == ".csv"
    # Every read of the file inside: its faults become ExtractError (files.fault_of decides),
    # storage errors stay retryable; the ExtractErrors raised by the checks pass unchanged.
    with read_faults(file, _refusal(file)):
        check_file(file)
        if csv:
            check_utf8(file)
            names = pl.read_csv(file, n_rows=0, infer_schema=False).columns
            check_csv_rows(file, len(names))
        else:
            names = list(pl.read_parquet_schema(file))
        for column in columns:
            if column.name not in names:
                raise _fail(file, column.name, "missing column")
        wanted = [c.name for c in columns]  # extra columns are ignored (never read)
        if csv:
            raw = pl.read_csv(file, columns=wanted, infer_schema=False, encoding="utf8")
            convert = _convert_csv_column
        else:
            raw = pl.read_parquet(file, columns=wanted)
            convert = _convert_parquet_column
        series = [convert(raw.get_column(c.name), c, file).alias(c.name) for c in columns]
    return pl.DataFrame(series), file


def check_tables(extract: Extract, files: Mapping[str, Path] | None = None) -> None:
    """Check the extract rules on typed tables (nulls, ids, duplicates, orphans).

    Args:
        extract: Tables with the types of :data:`SCHEMAS`.
        files: The file each table came from (names in messages); default ``<table>.parquet``.

    Raises:
        ExtractError: The first rule broken, naming file, column and first offending row.
    """
    paths = {name: Path(f"{name}.parquet") for name in TABLE_NAMES}
    paths.update(files or {})
    for table, frame in extract:
        file, rows = paths[table], _Rows(paths[table].suffix == ".csv")
        for column in SCHEMAS[table]:
            if column.name not in frame.columns:
                raise _fail(file, column.name, "missing column")
            values = frame.get_column(column.name)
            if values.dtype != _DTYPES[column.kind]:
                raise _fail(file, column.name, f"expected {column.kind}, found {values.dtype}")
            if not column.nullable:
                first = _first(values.is_null())
                if first is not None:
                    raise _fail(file, column.name, f"{rows(first)}: empty value not allowed")
        first = _first(~frame.get_column("member_id").str.contains(MEMBER_ID_PATTERN))
        if first is not None:
            raise _fail(file, "member_id", f"{rows(first)}: member_id must be 1-12 digits")
        if table in ("members", "activity"):
            first = _first(~frame.get_column("member_id").is_first_distinct())
            if first is not None:
                raise _fail(file, "member_id", f"{rows(first)}: duplicate member_id")
    accounts = extract.accounts
    file, rows = paths["accounts"], _Rows(paths["accounts"].suffix == ".csv")
    first = _first(~accounts.get_column("file").is_in(FILES))
    if first is not None:
        raise _fail(file, "file", f"{rows(first)}: file must be one of {', '.join(FILES)}")
    orphan = ~accounts.get_column("member_id").is_in(
        extract.members.get_column("member_id").implode()
    )
    first = _first(orphan)
    if first is not None:
        raise _fail(file, "member_id", f"{rows(first)}: member not in members")


def read_extract(folder: str | Path) -> Extract:
    """Read and validate one month's extract folder.

    Each table is ``<table>.parquet`` or, failing that, ``<table>.csv`` (header row, UTF-8, ISO
    dates, ``true``/``false``, empty = null). Extra columns are ignored. Closed accounts are
    kept (typed and checked like the rest); scorers ignore them.

    Args:
        folder: ``<extract root>/<YYYY-MM>``.

    Returns:
        The typed tables.

    Raises:
        ExtractError: Anything wrong, naming file, column and first offending row.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ExtractError(f"extract folder not found: {root}")
    tables: dict[str, pl.DataFrame] = {}
    files: dict[str, Path] = {}
    for table in TABLE_NAMES:
        tables[table], files[table] = _read_table(root, table)
    extract = Extract.of(tables)
    check_tables(extract, files)
    return extract
