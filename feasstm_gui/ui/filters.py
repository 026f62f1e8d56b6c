"""Which frames the strip shows and in what order, and where a scene cut falls.

Plain Python over FrameRow, so the model can apply them to 100,000 frames quickly and tests can
check them without a window.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from feasstm_gui.core.store import FrameRow
from feasstm_gui.core.vocab import CODES, REASONS, SUGGESTED_REASONS


@dataclass(frozen=True)
class FrameFilter:
    """key: all | unlabelled | labelled | deleted | kept | irrelevant | suggested |
    code:<n> | reason:<r> | suggested:<r>."""

    key: str = "all"
    title: str = "All frames"

    def accepts(self, row: FrameRow) -> bool:
        return _predicate(self.key)(row)


def _predicate(key: str) -> Callable[[FrameRow], bool]:
    if key == "all":
        return lambda r: True
    if key == "unlabelled":
        return lambda r: r.code is None and not r.reasons and not r.irrelevant
    if key == "labelled":
        return lambda r: r.code is not None
    if key == "deleted":
        return lambda r: bool(r.reasons)
    if key == "kept":
        return lambda r: not r.reasons and not r.irrelevant
    if key == "irrelevant":
        return lambda r: r.irrelevant
    if key == "suggested":
        return lambda r: bool(r.suggested)
    kind, _, value = key.partition(":")
    if kind == "code":
        code = int(value)
        return lambda r: r.code == code
    if kind == "reason":
        return lambda r: value in r.reasons
    if kind == "suggested":
        return lambda r: value in r.suggested
    if kind in EXTRA_FILTERS:
        return EXTRA_FILTERS[kind](value)
    raise ValueError(f"unknown frame filter {key!r}")


FILTERS: list[FrameFilter] = [
    FrameFilter("all", "All frames"),
    FrameFilter("unlabelled", "Unlabelled"),
    FrameFilter("labelled", "Labelled"),
    FrameFilter("kept", "Not deleted"),
    FrameFilter("deleted", "Deleted (any reason)"),
    *[FrameFilter(f"reason:{r}", f"Deleted: {r}") for r in REASONS],
    FrameFilter("suggested", "Suggested flag (any)"),
    *[FrameFilter(f"suggested:{r}", f"Suggested: {r}") for r in SUGGESTED_REASONS],
    FrameFilter("irrelevant", "Irrelevant"),
    *[FrameFilter(f"code:{c}", f"Code {c} {n}") for c, n in CODES.items()],
]


#: Filters and sorts over data that FrameRow does not carry, added by other modules (the
#: expression proposals: ui/proposals.py): key kind -> predicate maker, sort key -> a row's value.
EXTRA_FILTERS: dict[str, Callable[[str], Callable[[FrameRow], bool]]] = {}
EXTRA_SORTS: dict[str, Callable[[FrameRow], float | None]] = {}


@dataclass(frozen=True)
class FrameSort:
    key: str = "frame"  # frame | sharpness | prob
    title: str = "Frame order"
    descending: bool = False


SORTS: list[FrameSort] = [
    FrameSort("frame", "Frame order"),
    FrameSort("sharpness", "Sharpness, blurriest first"),
    FrameSort("sharpness", "Sharpness, sharpest first", True),
    FrameSort("prob", "Detection probability, lowest first"),
    FrameSort("prob", "Detection probability, highest first", True),
]


def visible_rows(rows: Sequence[FrameRow], flt: FrameFilter, sort: FrameSort) -> list[int]:
    """Positions in `rows` (frame order) to show, filtered and sorted. Frames without a score
    go last either way; ties keep frame order."""
    pred = _predicate(flt.key)
    picked = [i for i, r in enumerate(rows) if pred(r)]
    if sort.key == "frame":
        return picked[::-1] if sort.descending else picked
    attr = sort.key
    value = EXTRA_SORTS.get(attr) or (lambda r: getattr(r, attr))
    missing = [i for i in picked if value(rows[i]) is None]
    scored = [i for i in picked if value(rows[i]) is not None]
    scored.sort(key=lambda i: value(rows[i]), reverse=sort.descending)
    return scored + missing


# -- scene cuts ------------------------------------------------------------------------------

#: A jump in source frame index larger than this many times the clip's usual step is a cut.
CUT_STEP_FACTOR = 5


def typical_step(rows: Sequence[FrameRow]) -> int:
    """The median step between consecutive frame indices (1 for a clip extracted at its own
    rate, more where extraction kept every n-th frame)."""
    steps = [b.frame_index - a.frame_index for a, b in zip(rows, rows[1:])
             if b.frame_index > a.frame_index]
    return max(1, int(statistics.median(steps))) if steps else 1


def is_track_reset(before: dict | None, after: dict | None) -> bool:
    """The tracker lost the face or started a new track between two frames: `after`'s track
    JSON says `"reset": true` (or `"cut": true`), or its track id (`"track_id"` or `"id"`)
    differs from `before`'s."""
    if not after:
        return False
    if after.get("reset") or after.get("cut"):
        return True
    for key in ("track_id", "id"):
        if key in after and before and key in before and after[key] != before[key]:
            return True
    return False


def is_cut(a: FrameRow, b: FrameRow, step: int, track_a: dict | None = None,
           track_b: dict | None = None) -> bool:
    """A scene cut between consecutive frames a and b (documented in the user guide): a jump
    of more than CUT_STEP_FACTOR usual steps in frame index, or a tracker reset."""
    if b.frame_index - a.frame_index > CUT_STEP_FACTOR * step:
        return True
    return is_track_reset(track_a, track_b)


def fill_targets(rows: Sequence[FrameRow], start: int, step: int,
                 tracks: Callable[[Sequence[int]], dict[int, dict | None]] | None = None,
                 ) -> tuple[list[int], int | None]:
    """Frames the fill-forward key labels: after rows[start], the unlabelled frames up to (not
    including) the next labelled frame or the next scene cut; deleted and irrelevant frames are
    skipped, not labelled. Returns (frame ids, position where it stopped or None at the end)."""
    targets: list[int] = []
    chunk = 256
    marks: dict[int, dict | None] = {}
    prev = rows[start]
    i = start + 1
    while i < len(rows):
        if tracks is not None and rows[i].id not in marks:
            ids = [r.id for r in rows[i - 1:i + chunk]]
            marks.update(tracks(ids))
        row = rows[i]
        if is_cut(prev, row, step, marks.get(prev.id), marks.get(row.id)):
            return targets, i
        if not row.reasons and not row.irrelevant:
            if row.code is not None:
                return targets, i
            targets.append(row.id)
        prev = row
        i += 1
    return targets, None
