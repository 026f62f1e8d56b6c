"""Disagreements and scene cuts as the window reads them (core/store/label_state.py), and what
an export leaves out (core/dataset/left_out.py), on a real project without Qt."""

from __future__ import annotations

import pytest
from projects import make_project

from feasstm_gui.core.dataset.export import read_project
from feasstm_gui.core.dataset.left_out import left_out
from feasstm_gui.core.store import label_state

CLIP = "片段 一"


@pytest.mark.parametrize("backend", ["sqlite", "pg"])
def test_disputes_cut_marks_and_what_the_export_leaves_out(cjk_dir, backend, request):
    # on both back ends (issue 16: the window's strip reads these on a server project too)
    server = request.getfixturevalue("pg_url") if backend == "pg" else None
    store = make_project(cjk_dir / "项目", {CLIP: ("演员", "A")}, n_frames=6, server=server)
    ids = [f.id for f in store.frames(CLIP)]
    store.set_labels(ids[:3], 4, annotator="甲")
    store.set_labels(ids[:2], 4, annotator="乙")
    store.set_labels(ids[2:3], 7, annotator="乙")  # frame 2: 4 against 7
    store.set_labels(ids[3:4], 5, annotator="乙")
    store.set_deletion(ids[4:5], "blur", True)
    got = label_state.disputes(store, clip_id=CLIP, annotator="甲")
    assert got == {ids[2]: label_state.Dispute((4, 7), 4)}
    assert label_state.disputes(store, frame_ids=ids, annotator="乙")[ids[2]].own == 7
    assert label_state.disputes(store) == {ids[2]: label_state.Dispute((4, 7), None)}
    assert label_state.dispute_counts(store) == {CLIP: 1}
    # adjudicated: no longer in disagreement
    store.db.execute("INSERT INTO adjudications VALUES (?, 4, 'judge', '2026-01-01')", (ids[2],))
    assert label_state.disputes(store, clip_id=CLIP) == {}
    store.db.execute("DELETE FROM adjudications")
    # the tracker's cut, in the current face's scores (compact or spaced JSON)
    assert label_state.cut_marks(store, CLIP) == {}
    store.db.execute("UPDATE faces SET scores=? WHERE frame_id=?", ('{"cut":true,"prob":0.9}', ids[3]))
    store.db.execute("UPDATE faces SET scores=? WHERE frame_id=?", ('{"cut": false}', ids[4]))
    assert label_state.cut_marks(store, CLIP) == {ids[3]: {"cut": True}}
    # the export: 0, 1 agreed and 3 (one annotator) are written; 2 disputed, 4 deleted, 5 none
    out = left_out(read_project(store))
    assert (out.disputed, out.deleted, out.unlabelled, out.total) == (1, 1, 1, 3)
    assert out.describe().startswith("Left out: 3 frame(s): 1 in disagreement")
    # with --include-unlabelled (FAF) both go in faces/ with code 0: only the deleted one is out
    assert left_out(read_project(store), include_unlabelled=True).total == 1
    store.close()
