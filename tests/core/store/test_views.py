"""The views' label rule: a viewer sees their own labels on clips labelled blind, the final
label elsewhere, clip by clip, in every view (strip rows, edited rows, review grid, clip list,
next unlabelled frame)."""

from __future__ import annotations

import pytest

from feasstm_gui.core.store import Clip, Store, views

BLIND, OPEN = "盲 片段", "open clip"


@pytest.fixture(params=["sqlite", "pg"])
def store(cjk_dir, request):
    # on both back ends: the embedded SQLite store and a PostgreSQL server (issue 16)
    server = request.getfixturevalue("pg_url") if request.param == "pg" else None
    s = Store.create(cjk_dir / "项目", annotator="alice", server=server)
    for clip in (BLIND, OPEN):
        s.add_clip(Clip(clip))
        s.add_frames(clip, [(i, i * 40.0, None, None) for i in range(3)])
    s.set_blind([BLIND])
    # bob labels every frame 3; alice labels frame 0 of each clip 5 (a disagreement there)
    for clip in (BLIND, OPEN):
        rows = s.frames(clip)
        s.set_labels([r.id for r in rows], 3, annotator="bob")
        s.set_labels([rows[0].id], 5, annotator="alice")
        s.set_labels([rows[2].id], 3, annotator="alice")
    yield s
    s.close()


def test_viewer_sees_own_labels_only_on_blind_clips(store):
    assert [r.code for r in views.clip_frames(store, BLIND, viewer="alice")] == [5, None, 3]
    assert [r.code for r in views.clip_frames(store, OPEN, viewer="alice")] == [None, 3, 3]
    # no viewer: the final label; an annotator: their own, whatever the clip
    assert [r.code for r in views.clip_frames(store, BLIND)] == [None, 3, 3]
    assert [r.code for r in views.clip_frames(store, OPEN, annotator="alice")] == [5, None, 3]
    assert store.frames(BLIND) == views.clip_frames(store, BLIND)
    both = views.clip_frames(store, None, viewer="alice")
    assert [(r.clip, r.code) for r in both] == [
        (c, code) for c, codes in sorted({BLIND: [5, None, 3], OPEN: [None, 3, 3]}.items())
        for code in codes]


def test_every_view_applies_the_same_rule(store):
    ids = [r.id for c in (BLIND, OPEN) for r in store.frames(c)]
    rows = views.frames_by_id(store, ids, viewer="alice")
    assert [rows[i].code for i in ids] == [5, None, 3, None, 3, 3]
    assert [(r.clip, r.frame_index) for r in views.review_frames(store, code=5, viewer="alice")
            ] == [(BLIND, 0)]
    assert [(r.clip, r.frame_index) for r in views.review_frames(store, code=3, viewer="alice")
            ] == [(BLIND, 2), (OPEN, 1), (OPEN, 2)]
    summary = views.clip_summaries(store, viewer="alice")
    assert summary[BLIND].labelled == 2 and summary[OPEN].labelled == 2
    assert views.next_unlabelled(store, BLIND, viewer="alice") == ids[1]
    assert views.next_unlabelled(store, OPEN, viewer="alice") == ids[3]
    assert views.next_unlabelled(store, BLIND, viewer="bob") is None  # bob labelled all
    # the whole project blind: own labels everywhere
    store.set_blind(True)
    assert [r.code for r in views.clip_frames(store, OPEN, viewer="alice")] == [5, None, 3]
    store.set_blind(False)
    assert [r.code for r in views.clip_frames(store, BLIND, viewer="alice")] == [None, 3, 3]


def test_recent_edits_name_each_steps_first_frame_on_both_back_ends(store):
    # the window's history list (found by the kill campaign on the server: MIN over jsonb)
    steps = views.recent_edits(store, 3)
    first = store.frames(OPEN)
    assert [(s.annotator, s.count, s.frame_id, s.clip) for s in steps] == [
        ("alice", 1, first[2].id, OPEN), ("alice", 1, first[0].id, OPEN),
        ("bob", 3, first[0].id, OPEN)]
