"""The clip table: one CSV row per clip, naming its video, work, actor, role and ASA group.

`start_s`/`end_s` cut a clip from a longer video. A bad row is reported (`file:line: reason`) and
skipped; only a file that is not a clip table at all (empty, a required column missing) is a
FeasstmError, since then no row can be trusted.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats.csvfile import csv_records
from feasstm_gui.core.formats.faf import read_text
from feasstm_gui.core.ingest.images import atomic_write_bytes
from feasstm_gui.core.names import check_clip_id, clip_id_problem
from feasstm_gui.core.problems import Problem

REQUIRED_COLUMNS = ("clip", "video", "work", "actor", "role", "group")
OPTIONAL_COLUMNS = ("start_s", "end_s")
#: Columns of an exported clips.csv that a clip table does not use; read back without complaint.
IGNORED_COLUMNS = ("split",)
#: Optional: a photo of the clip's actor (issue 15), added to the actor's references at import.
PHOTO_COLUMN = "actor_photo"

_HEADER_HELP = (
    "the header must name clip, video, work, actor, role, group (start_s, end_s optional)"
)


@dataclass
class ClipRow:
    """One clip of the table. `video` is absolute (or None when the cell is empty)."""

    clip: str
    video: Path | None
    work: str
    actor: str
    role: str
    group: str
    start_s: float | None
    end_s: float | None
    line: int
    actor_photo: Path | None = None  # absolute; checked when the references are added


def read_clip_table(path: str | Path) -> tuple[list[ClipRow], list[Problem]]:
    """The good rows of a clip table, and a Problem (with its CSV line) for each skipped row.

    Columns may come in any order, header names in any case. A relative video path is taken
    from the CSV's own folder. UTF-8 (with or without BOM) and GBK are read.
    """
    path = Path(path)
    text = read_text(path)
    problems: list[Problem] = []
    rows: list[ClipRow] = []
    columns: list[str] | None = None
    first_line: dict[str, int] = {}
    for line, fields in csv_records(text, path, _delimiter(text), problems):
        if columns is None:
            columns = _header(fields, path, line, problems)
            continue
        row = _row(fields, columns, path, line, first_line, problems)
        if row is not None:
            rows.append(row)
    if columns is None:
        raise FeasstmError(f"empty file; {_HEADER_HELP}", path=path)
    return rows, problems


def _delimiter(text: str) -> str:
    """Comma, unless the header line has none and uses tabs or semicolons (Excel exports)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in header:
        for candidate in ("\t", ";"):
            if candidate in header:
                return candidate
    return ","


def _header(fields: list[str], path: Path, line: int, problems: list[Problem]) -> list[str]:
    names = [f.strip().lstrip("\ufeff").lower() for f in fields]
    known = set(REQUIRED_COLUMNS + OPTIONAL_COLUMNS + (PHOTO_COLUMN,))
    for name in dict.fromkeys(names):
        if name and names.count(name) > 1 and name in known:
            raise FeasstmError(f"column {name!r} appears twice in the header", path=path, line=line)
        if name and name not in known and name not in IGNORED_COLUMNS:
            problems.append(Problem.at(path, line, f"column {name!r} is not used"))
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FeasstmError(
            f"missing column(s) {', '.join(missing)}; {_HEADER_HELP}", path=path, line=line
        )
    return names


def _row(
    fields: list[str],
    columns: list[str],
    path: Path,
    line: int,
    first_line: dict[str, int],
    problems: list[Problem],
) -> ClipRow | None:
    """One data row, or None after reporting why it is skipped."""
    cells: dict[str, str] = {}
    for i, name in enumerate(columns):
        if name and name not in cells:
            cells[name] = fields[i].strip() if i < len(fields) else ""
    reasons = []
    extra = [f for f in fields[len(columns) :] if f.strip()]
    if extra:
        reasons.append(f"{len(fields)} fields but the header has {len(columns)}")
    clip = cells["clip"]
    if not clip:
        reasons.append("no clip id")
    elif problem := clip_id_problem(clip):
        reasons.append(f"bad clip id {clip!r}: {problem}")
    elif clip in first_line:
        reasons.append(f"duplicate clip {clip!r} (first on line {first_line[clip]})")
    else:
        first_line[clip] = line
    video, why = _video(cells["video"], path.parent)
    start, why_start = _seconds(cells.get("start_s", ""), "start_s")
    end, why_end = _seconds(cells.get("end_s", ""), "end_s")
    reasons += [r for r in (why, why_start, why_end) if r]
    if not (why_start or why_end) and end is not None and end <= (start or 0.0):
        reasons.append(f"end_s {end:g} is not after start_s {start or 0.0:g}")
    if reasons:
        problems.append(Problem.at(path, line, "; ".join(reasons) + "; row skipped"))
        return None
    return ClipRow(
        clip,
        video,
        cells["work"],
        cells["actor"],
        cells["role"],
        cells["group"],
        start,
        end,
        line,
        Path(os.path.normpath(path.parent.absolute() / cells[PHOTO_COLUMN]))
        if cells.get(PHOTO_COLUMN) else None,
    )


def _video(cell: str, base: Path) -> tuple[Path | None, str | None]:
    """The video's absolute path (relative paths are from the CSV's folder), or why not."""
    if not cell:
        return None, None
    tried = [cell]
    if os.sep == "/" and "\\" in cell:
        tried.append(cell.replace("\\", "/"))  # a table written on Windows
    for candidate in tried:
        video = Path(os.path.normpath(base.absolute() / candidate))
        if video.is_file():
            return video, None
        if video.is_dir():
            return None, f"video {video} is a folder, not a file"
    return None, f"video file not found: {Path(os.path.normpath(base.absolute() / cell))}"


#: Longest start_s / end_s taken (no film runs 11 days).
MAX_SECONDS = 1_000_000


def _seconds(cell: str, column: str) -> tuple[float | None, str | None]:
    if not cell:
        return None, None
    try:
        value = float(cell)
    except ValueError:
        return None, f"{column} {cell!r} is not a number of seconds"
    if not math.isfinite(value):
        return None, f"{column} {cell!r} is not a number of seconds"
    if value < 0:
        return None, f"{column} {cell!r} is negative"
    if value > MAX_SECONDS:  # 1e308 passed, then overflowed in the frame arithmetic
        return None, f"{column} {cell!r} is more than {MAX_SECONDS:,} seconds (11 days)"
    return value, None


def write_clip_table(path: str | Path, rows: Iterable[ClipRow], *, bom: bool = False) -> Path:
    """Write a clip table that read_clip_table reads back to the same rows.

    Videos inside the CSV's folder are written relative to it (the table moves with its
    videos), others absolute. `bom` adds a UTF-8 mark, which Excel needs to show Chinese.
    The file appears complete or not at all.
    """
    path = Path(path)
    base = path.parent.absolute()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    for row in rows:
        check_clip_id(row.clip, path=path)
        writer.writerow(
            [
                row.clip,
                _video_cell(row.video, base),
                row.work,
                row.actor,
                row.role,
                row.group,
                "" if row.start_s is None else repr(float(row.start_s)),
                "" if row.end_s is None else repr(float(row.end_s)),
            ]
        )
    data = out.getvalue().encode("utf-8-sig" if bom else "utf-8")
    return atomic_write_bytes(path, data, durable=True)


def _video_cell(video: Path | None, base: Path) -> str:
    if video is None:
        return ""
    video = Path(os.path.normpath(Path(video).absolute()))
    if video.is_relative_to(base):
        return video.relative_to(base).as_posix()
    return str(video)
