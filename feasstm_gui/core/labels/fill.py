"""Fill forward and scene cuts: which frames the fill-forward key labels.

Plain Python over FrameRow (no store, no Qt): the session (core/labels/session.py) calls it
with the clip's rows, and tests check it on made-up rows.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from feasstm_gui.core.store import FrameRow

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
