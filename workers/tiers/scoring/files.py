"""Reading the run's input files: what is the file's fault, and what is infrastructure's.

Every read of the extract, the program and the shard files goes through :func:`read_faults`,
and :func:`fault_of` is the one place that decides. A file's fault (not Parquet, truncated, not
UTF-8, a malformed CSV row, empty, a directory, unreadable) cannot change on a retry: the caller
turns it into its own refusal (``ExtractError``, ``ProgramError``, ``ShardError``), which fails
the run at once. Anything else (an I/O error of the disk or network file system, memory) is
left as it is, so Temporal retries it with back-off as infrastructure.

Reasons never quote file contents: parser messages (polars', pyarrow's) may include the
offending text, i.e. member data, and would end up in the workflow history.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

UTF8_CHUNK = 1 << 20
"""Bytes decoded at a time when checking a CSV file is UTF-8."""

_FORMATS = {".parquet": "Parquet", ".csv": "CSV", ".yaml": "YAML", ".yml": "YAML"}
_PARSER_ERRORS = (
    pl.exceptions.PolarsError,
    # polars (Rust) gave up on bytes it could not make sense of; a BaseException, not an
    # Exception, so it would otherwise escape every handler on the way.
    pl.exceptions.PanicException,
    pa.ArrowException,
    csv.Error,
)


class FileFault(ValueError):
    """What is wrong with a file, in words (no path, no contents); raised by the checks here."""


def _format(file: Path) -> str:
    return _FORMATS.get(file.suffix.lower(), "input")


def fault_of(err: BaseException, file: Path, *, supplied: bool = True) -> str | None:
    """Why ``err`` is ``file``'s fault, or None when it is infrastructure (to be retried).

    Args:
        err: Raised while reading ``file``.
        file: The file (its suffix names the format in the reason).
        supplied: The file comes from outside the run (extract, program): missing, a directory
            or permission denied is then its supplier's to fix. False for files the run wrote
            itself (shards), where those mean the shared storage is not what it should be.

    Returns:
        A short reason such as ``not UTF-8``, or None.
    """
    if isinstance(err, FileFault):
        return str(err)
    if isinstance(err, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(err, OSError):
        # Checked before the parsers' errors: pyarrow's ArrowIOError is an OSError too.
        if not supplied:
            return None
        if isinstance(err, IsADirectoryError):
            return "a directory, not a file"
        if isinstance(err, FileNotFoundError | NotADirectoryError):
            return "missing file"
        if isinstance(err, PermissionError):
            return "not readable (permission denied)"
        return None  # EIO, ESTALE, ENOSPC...: the disk or the network file system
    if isinstance(err, MemoryError):  # pyarrow's ArrowMemoryError included
        return None
    if isinstance(err, _PARSER_ERRORS):
        return f"not a readable {_format(file)} file (corrupt, truncated or another format)"
    return None  # not a reading error we know: left to the retry policy, as before


@contextmanager
def read_faults(
    file: Path, refusal: Callable[[str], Exception], *, supplied: bool = True
) -> Iterator[None]:
    """Raise ``refusal(reason)`` for a fault of ``file`` raised inside; let the rest through.

    Args:
        file: The file being read.
        refusal: Builds the caller's error from the reason (it adds the file's name).
        supplied: See :func:`fault_of`.

    Raises:
        Exception: ``refusal(reason)``, not chained to the original error.
    """
    try:
        yield
    except BaseException as err:
        reason = fault_of(err, file, supplied=supplied)
        if reason is None:
            raise
        # Not chained: the original's message may quote the file's contents (member data), and
        # Temporal would carry the chain into the history, loggers into the logs.
        raise refusal(reason) from None


def check_file(file: Path) -> None:
    """Refuse a directory (or other non-file) and an empty file before any parser sees it.

    Raises:
        FileFault: Not a regular file, or zero bytes.
    """
    if file.is_dir():
        raise FileFault("a directory, not a file")
    if not file.is_file():
        raise FileFault("not a regular file")
    if file.stat().st_size == 0:
        raise FileFault("empty file")


def check_utf8(file: Path) -> None:
    """Refuse a file that is not UTF-8 anywhere, naming the first bad line.

    The whole file is checked (extra columns too), in chunks: a strict decode runs at memory
    speed, far below the cost of parsing the file.

    Raises:
        FileFault: ``line N: not UTF-8``.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with file.open("rb") as handle:
        while True:
            chunk = handle.read(UTF8_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as err:
                # err.object is the decoder's carried-over bytes (never a newline) + chunk.
                line = lines_before + err.object[: err.start].count(b"\n") + 1
                raise FileFault(f"line {line}: not UTF-8") from None
            if not chunk:
                return
            lines_before += chunk.count(b"\n")


def check_csv_rows(file: Path, width: int) -> None:
    """Refuse a CSV file with a row of more or fewer fields than its header has.

    polars neither refuses a short row (the missing fields read as empty, i.e. null) nor, when
    only some columns are read, a long one; pyarrow's parser counts every row's fields, in C++
    and in parallel, converting a single column. Only when a row is wrong does the slower
    Python ``csv`` module look for the first one, to name its row and line.

    Args:
        file: A UTF-8 CSV file with a header row.
        width: Fields in the header.

    Raises:
        FileFault: ``row R (line L): F fields where the header has W``.
    """
    wrong = 0

    def on_wrong_row(_: object) -> str:
        nonlocal wrong
        wrong += 1
        return "skip"

    try:
        _count_fields(file, on_wrong_row)
    except pa.ArrowInvalid:
        # pyarrow cannot parse a file of a single record without a line end (a header alone);
        # the csv module decides then (and the polars read after this still parses the file).
        found = _first_wrong_row(file, width)
        if found is not None:
            raise FileFault(found) from None
        return
    if wrong:
        found = _first_wrong_row(file, width)
        raise FileFault(found or f"rows with another number of fields than the header's {width}")


def _count_fields(file: Path, on_wrong_row: Callable[[object], str]) -> None:
    pa_csv.read_csv(
        file,
        # The header is read as a row too (columns f0, f1...): its field count is the width
        # every other row is held to.
        read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
        # Quoted line breaks are allowed, as polars allows them.
        parse_options=pa_csv.ParseOptions(
            newlines_in_values=True, invalid_row_handler=on_wrong_row
        ),
        convert_options=pa_csv.ConvertOptions(
            include_columns=["f0"], column_types={"f0": pa.binary()}
        ),
    )


def _first_wrong_row(file: Path, width: int) -> str | None:
    with file.open(newline="", encoding="utf-8") as text:
        reader = csv.reader(text)
        next(reader, None)
        # Blank lines count as rows: polars reads one as a row (of nulls), so numbers match.
        for row, fields in enumerate(reader, start=1):
            if fields and len(fields) != width:
                count = f"{len(fields)} field" + ("" if len(fields) == 1 else "s")
                return f"row {row} (line {reader.line_num}): {count} where the header has {width}"
    return None
