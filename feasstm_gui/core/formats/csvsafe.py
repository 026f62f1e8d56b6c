"""CSV files that a spreadsheet opens without running anything in them.

A text cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return) is a formula to
Excel, LibreOffice and Google Sheets ("CSV injection"). Clip ids, actor names, annotator names
and rating descriptions come from people and files we do not control, so every text cell goes
through `safe_cell`, which prefixes such a cell with a single quote (`'`): spreadsheets then show
the text as it is. Numbers are written as numbers and never prefixed.

To read a cell back exactly, drop one leading `'` when the character after it is one of the
triggers (`unsafe_cell` does that).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def safe_cell(value: Any) -> Any:
    """The value to write in a CSV cell: text that a spreadsheet would run gets a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return QUOTE + text
    return text


def unsafe_cell(text: str) -> str:
    """Undo `safe_cell` for a text cell read from one of our CSVs."""
    if text.startswith(QUOTE) and text[1:2] and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A whole CSV (UTF-8, no BOM, header row, `\\n` line ends) with every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write `csv_bytes(header, rows)` to `path` (the file appears complete or not at all)."""
    from feasstm_gui.core.ingest.images import atomic_write_bytes

    return atomic_write_bytes(path, csv_bytes(header, rows))


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """Rows of one of our CSVs as dicts, with `safe_cell`'s quote removed from every cell."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [{unsafe_cell(k): unsafe_cell(v or "") for k, v in row.items()}
                for row in csv.DictReader(f)]
