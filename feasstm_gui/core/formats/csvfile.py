"""Reading CSV text record by record, with the line each record starts on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError


def csv_records(text: str, path: str | Path, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """The non-blank records of a CSV text, each with the line it starts on (a quoted cell may
    span lines). A malformed CSV is a FeasstmError naming the line where reading stopped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    try:
        for fields in reader:
            line, end = end + 1, reader.line_num
            if any(f.strip() for f in fields):
                yield line, fields
    except csv.Error as exc:
        raise FeasstmError(f"not a readable CSV: {exc}", path=path, line=end + 1) from exc
