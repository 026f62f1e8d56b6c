"""Fill forward and scene cuts: which frames the fill-forward key labels.

Plain Python over FrameRow (no store, no Qt): the session (core/labels/session.py) calls it
with the clip's rows, and tests check it on made-up rows.
"""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from feasstm_gui.core.store import FrameRow

#: A jump in source frame index larger than this many times the clip's usual step is a cut.
CUT_STEP_FACTOR = 5


def typical_step(rows: Sequence[FrameRow]) -> int:
    """The median step between consecutive frame indices (1 for a clip extracted at its own
    rate, more where extraction kept every n-th frame)."""
    return _typical_step([r.frame_index for r in rows])


def _typical_step(index: list[int]) -> int:
    steps = [d for d in map(operator.sub, index[1:], index[:-1]) if d > 0]
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
    """Frames the fill-forward key labels (fill_forward_span with the cuts `tracks` gives).
    Returns (frame ids, position where it stopped or None at the end)."""
    def more(window: Sequence[FrameRow]) -> set[int]:
        return scene_cut_ids(window, tracks([r.id for r in window]), step)

    span = fill_forward_span(rows, start, scene_cut_ids(rows, {}, step),
                             more_cuts=more if tracks is not None else None)
    return span.targets, span.stop


# -- the fill-forward rule (issue 20): where fill forward stops, and why -------------------------

#: This many irrelevant or deleted frames in a row end a fill (the actor left the shot, a
#: cutaway, a stretch thrown away); a single one (a blurred frame, a one-frame splice) is
#: stepped over, not labelled.
GAP_RUN = 2


@dataclass(frozen=True)
class FillSpan:
    """What fill forward labels from rows[start], and where and why it stops.

    `targets`: frame ids to label, in order. `stop`: the position in rows of the frame it
    stopped at (None: it ran to the end of the clip). `reason`: "end", "labelled" (the next
    labelled frame), "cut" (a scene cut before rows[stop]), "gap" (a run of irrelevant or
    deleted frames starting at rows[stop] and ending at rows[gap_end])."""

    targets: list[int]
    stop: int | None
    reason: str
    gap_end: int | None = None

    def describe(self, rows: Sequence[FrameRow]) -> str:
        """Where it stopped and why, in the annotator's words (frame numbers as the strip)."""
        if self.stop is None:
            return "up to the end of the clip"
        at = rows[self.stop].frame_index
        if self.reason == "labelled":
            return f"stopped at frame {at}: it is already labelled"
        if self.reason == "cut":
            return f"stopped before frame {at}: a scene cut"
        end = rows[self.gap_end if self.gap_end is not None else self.stop].frame_index
        n = (self.gap_end or self.stop) - self.stop + 1
        return f"stopped at frame {at}: {n} faceless or deleted frames ({at}-{end})"


def scene_cut_ids(rows: Sequence[FrameRow], marks: dict[int, dict | None] | None = None,
                  step: int | None = None) -> set[int]:
    """Ids of the frames that begin a new shot: a jump of more than CUT_STEP_FACTOR usual
    steps in frame index, or what the tracker recorded (`marks`: frame id -> its track JSON
    keys, or the face's `cut` score: store/label_state.cut_marks, views.track_marks)."""
    # is_cut, over a whole clip at once (opening a clip of 100,000 frames reads it): the jumps
    # in frame index first, then the tracker's marks where a frame has one
    index = [r.frame_index for r in rows]
    limit = CUT_STEP_FACTOR * (step or _typical_step(index))
    cuts = {rows[i].id for i, d in enumerate(map(operator.sub, index[1:], index[:-1]), 1)
            if d > limit}
    if marks:
        for i, row in enumerate(rows):
            after = marks.get(row.id)
            if i and after and is_track_reset(marks.get(rows[i - 1].id), after):
                cuts.add(row.id)
    return cuts


def _skipped(row: FrameRow) -> bool:
    return bool(row.reasons) or row.irrelevant


def fill_forward_span(rows: Sequence[FrameRow], start: int, cuts: Collection[int] = (), *,
                      labelled: Callable[[FrameRow], bool] | None = None,
                      more_cuts: Callable[[Sequence[FrameRow]], Collection[int]] | None = None,
                      gap_run: int = GAP_RUN, chunk: int = 256) -> FillSpan:
    """The frames fill forward labels after rows[start]: the unlabelled ones up to (not
    including) the first of: a frame that begins a new shot (`cuts`, scene_cut_ids), the first
    of `gap_run` irrelevant or deleted frames in a row, the next labelled frame (`labelled`,
    by default a frame with a code). Single irrelevant or deleted frames are stepped over.
    `more_cuts(window)`: further cut frame ids among a window of consecutive rows, asked
    `chunk` rows at a time as the fill goes (the tracker's state is costly to read whole)."""
    is_labelled = labelled or (lambda r: r.code is not None)
    targets: list[int] = []
    cuts = set(cuts)
    i = start + 1
    n = len(rows)
    asked = start + 1  # more_cuts has been asked about rows[:asked]
    while i < n:
        if more_cuts is not None and i + gap_run >= asked:
            cuts.update(more_cuts(rows[asked - 1:asked + chunk]))
            asked += chunk
        row = rows[i]
        if row.id in cuts:
            return FillSpan(targets, i, "cut")
        if _skipped(row):
            j = i
            while j + 1 < n and _skipped(rows[j + 1]) and rows[j + 1].id not in cuts:
                j += 1
            if j - i + 1 >= gap_run:
                return FillSpan(targets, i, "gap", j)
            i = j + 1
            continue
        if is_labelled(row):
            return FillSpan(targets, i, "labelled")
        targets.append(row.id)
        i += 1
    return FillSpan(targets, None, "end")
