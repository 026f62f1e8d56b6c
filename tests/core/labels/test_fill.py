"""Fill forward's rule (core/labels/fill.py): where it stops and why, on made-up rows shaped like
the sample's clip "宇航员 Collins" (a shot, six faceless frames, a cut, the same actor again)."""

from __future__ import annotations

from feasstm_gui.core.labels.fill import (
    FillSpan,
    fill_forward_span,
    fill_targets,
    scene_cut_ids,
)
from feasstm_gui.core.store import FrameRow


def row(i: int, code=None, irrelevant=False, reasons=(), index=None) -> FrameRow:
    return FrameRow(i + 100, "clip", i if index is None else index, None, None, None,
                    irrelevant, "crop.jpg", 0.99, 100.0, code, frozenset(reasons))


def collins() -> list:
    """0-25 the actor (0-7 labelled 4, 9-14 labelled 7), 26-31 no face, 32-39 the actor."""
    rows = []
    for i in range(40):
        code = 4 if i <= 7 else (7 if 9 <= i <= 14 else None)
        rows.append(row(i, code=code, irrelevant=26 <= i <= 31))
    return rows


def test_stops_at_a_run_of_irrelevant_frames_and_says_where():
    rows = collins()
    span = fill_forward_span(rows, 14, cuts=set())
    assert span.reason == "gap" and rows[span.stop].frame_index == 26
    assert [rows[p].frame_index for p in (span.stop, span.gap_end)] == [26, 31]
    assert span.targets == [r.id for r in rows[15:26]]  # 15-25, none after the faceless run
    assert span.describe(rows) == "stopped at frame 26: 6 faceless or deleted frames (26-31)"


def test_stops_at_the_first_cut_before_anything_else():
    rows = collins()
    cut_at = {rows[20].id}
    span = fill_forward_span(rows, 14, cuts=cut_at)
    assert span == FillSpan([r.id for r in rows[15:20]], 20, "cut")
    assert span.describe(rows) == "stopped before frame 20: a scene cut"


def test_stops_at_the_next_labelled_frame():
    rows = collins()
    span = fill_forward_span(rows, 0, cuts=set())
    assert span.targets == [] and span.reason == "labelled" and span.stop == 1
    span = fill_forward_span(rows, 7, cuts=set())  # 8 unlabelled, 9 labelled 7
    assert span.targets == [rows[8].id] and rows[span.stop].frame_index == 9
    assert span.describe(rows) == "stopped at frame 9: it is already labelled"
    # a caller's notion of labelled (frames in disagreement have no code but are labelled)
    span = fill_forward_span(rows, 15, labelled=lambda r: r.frame_index == 18)
    assert span.targets == [rows[16].id, rows[17].id] and span.reason == "labelled"


def test_a_single_deleted_or_irrelevant_frame_is_stepped_over_not_labelled():
    rows = [row(0, code=5), row(1), row(2, reasons=("blur",)), row(3), row(4, irrelevant=True),
            row(5)]
    span = fill_forward_span(rows, 0)
    assert span.targets == [101, 103, 105] and span.reason == "end"
    assert span.describe(rows) == "up to the end of the clip"
    # two in a row (deleted then irrelevant) end it
    rows = [row(0, code=5), row(1), row(2, reasons=("other",)), row(3, irrelevant=True), row(4)]
    span = fill_forward_span(rows, 0)
    assert span.targets == [101] and span.reason == "gap" and span.gap_end == 3


def test_scene_cuts_from_jumps_and_from_the_tracker():
    rows = [row(i, index=i) for i in range(5)] + [row(5, index=60), row(6, index=61)]
    marks = {rows[3].id: {"cut": True}, rows[6].id: {"reset": True}}
    assert scene_cut_ids(rows, marks) == {rows[3].id, rows[5].id, rows[6].id}
    # the old entry point takes the same rule
    targets, stop = fill_targets([row(0, code=1), *rows[1:]], 0, 1,
                                 lambda ids: {i: marks.get(i) for i in ids})
    assert targets == [rows[1].id, rows[2].id] and stop == 3
