"""Reading CSV text record by record, with the line each record starts on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.problems import Problem

#: Longest cell a record may hold (the csv module's default limit). A longer cell no longer
#: stops the whole file (csv.Error "field larger than field limit"): that record is reported
#: and skipped, and the records after it are read.
MAX_CELL = 131_072

# The module's own limit is raised so that the reader gets past a long cell to report it; the
# text itself is at most files.TEXT_MAX_BYTES. 2**31 - 1 fits a C long everywhere.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


def csv_records(text: str, path: str | Path, delimiter: str = ",",
                problems: list[Problem] | None = None) -> Iterator[tuple[int, list[str]]]:
    """The non-blank records of a CSV text, each with the line it starts on (a quoted cell may
    span lines). A malformed CSV is a FeasstmError naming the line where reading stopped. A
    record with a cell over MAX_CELL characters is reported to `problems` and skipped (without
    `problems` it is a FeasstmError naming its line)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    try:
        for fields in reader:
            line, end = end + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            reason = long_cell(fields)
            if reason:
                if problems is None:
                    raise FeasstmError(reason, path=path, line=line)
                problems.append(Problem.at(path, line, f"{reason}; line skipped"))
                continue
            yield line, fields
    except csv.Error as exc:
        raise FeasstmError(f"not a readable CSV: {exc}", path=path, line=end + 1) from exc


def long_cell(fields: list[str]) -> str | None:
    """Why a record is refused for a cell over MAX_CELL characters, or None."""
    for i, cell in enumerate(fields, 1):
        if len(cell) > MAX_CELL:
            return f"cell {i} is {len(cell):,} characters long (at most {MAX_CELL:,})"
    return None
