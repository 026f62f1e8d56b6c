"""The annotator's session without a window: each command's effect in the store, the frames it
says it changed, undo/redo/undo-to, fill forward's stops and the blind rule."""

from __future__ import annotations

import pytest

from feasstm_gui.core.labels.fill import fill_targets, is_cut, typical_step
from feasstm_gui.core.labels.session import Session
from feasstm_gui.core.store import Clip, Store, views

CLIP = "片段 一"
OTHER = "片段 二"


@pytest.fixture
def store(cjk_dir):
    store = Store.create(cjk_dir / "项目", annotator="tester")
    for clip in (CLIP, OTHER):
        store.add_clip(Clip(clip, actor="演员", group="A", fps=25.0))
        store.add_frames(clip, [(i, i * 40.0, None, None) for i in range(8)])
    yield store
    store.close()


def ids_of(store: Store, clip: str = CLIP) -> list[int]:
    return [r.id for r in views.clip_frames(store, clip)]


def codes(store: Store, clip: str = CLIP, annotator: str | None = None) -> list[int | None]:
    return [r.code for r in views.clip_frames(store, clip, annotator=annotator)]


def reasons(store: Store, clip: str = CLIP) -> list[set[str]]:
    return [set(r.reasons) for r in views.clip_frames(store, clip)]


def test_label_clear_and_undo_redo_return_the_frames_they_changed(store):
    s = Session(store, "annotator A")
    ids = ids_of(store)
    change = s.label(ids[:3], 5)
    assert change.frames == ids[:3]
    assert change.count == 3
    assert codes(store) == [5, 5, 5, None, None, None, None, None]
    assert "5" in change.message
    # labels carry the session's annotator
    assert codes(store, annotator="annotator A")[:3] == [5, 5, 5]
    cleared = s.clear(ids[1:2])
    assert cleared.frames == [ids[1]]
    assert codes(store)[:3] == [5, None, 5]
    undone = s.undo()
    assert undone.frames == [ids[1]] and undone.step is not None
    assert codes(store)[:3] == [5, 5, 5]
    assert undone.message.startswith("Undone")
    redone = s.redo()
    assert redone.frames == [ids[1]]
    assert codes(store)[:3] == [5, None, 5]
    # nothing left to redo: no frames, a message
    nothing = s.redo()
    assert nothing.frames == [] and nothing.step is None
    assert nothing.message == "Nothing to redo"


def test_undo_only_undoes_the_sessions_annotator(store):
    ids = ids_of(store)
    Session(store, "someone else").label(ids[:1], 2)
    s = Session(store, "annotator A")
    assert s.undo().step is None
    assert codes(store, annotator="someone else")[0] == 2


def test_flags_restore_irrelevant_and_suggestions(store):
    s = Session(store, "tester")
    ids = ids_of(store)
    assert s.toggle_flag(ids[:2], "blur").frames == ids[:2]
    assert reasons(store)[:2] == [{"blur"}, {"blur"}]
    s.toggle_flag(ids[:2], "blur")  # all had it: removed
    assert reasons(store)[:2] == [set(), set()]
    s.add_flag(ids[:1], "other")
    s.toggle_flag(ids[:1], "incomplete")
    assert reasons(store)[0] == {"other", "incomplete"}
    rows = views.clip_frames(store, CLIP)
    restored = s.restore(rows[:2])
    assert restored.frames == ids[:2] and restored.count == 2
    assert reasons(store)[:2] == [set(), set()]
    assert s.restore(views.clip_frames(store, CLIP)[:1]).count == 0  # nothing to remove

    assert s.toggle_irrelevant(views.clip_frames(store, CLIP)[:2]).frames == ids[:2]
    assert [r.irrelevant for r in views.clip_frames(store, CLIP)][:3] == [True, True, False]
    s.toggle_irrelevant(views.clip_frames(store, CLIP)[:3])  # not all were: all become
    assert [r.irrelevant for r in views.clip_frames(store, CLIP)][:3] == [True, True, True]

    store.set_suggestions(ids[4], {"blur": 0.9})
    store.set_suggestions(ids[5], {"incomplete": 0.8})
    none = s.accept_suggestions(ids[6:7])
    assert none.count == 0 and "No suggested" in none.message
    accepted = s.accept_suggestions(ids[4:5])
    assert accepted.count > 0 and accepted.message == ""
    assert reasons(store)[4] == {"blur"}
    s.dismiss_suggestions(ids[5:6])
    row = views.clip_frames(store, CLIP)[5]
    assert not row.suggested and not row.reasons


def test_undo_to_undoes_back_to_a_step_and_refuses_others_steps(store):
    s = Session(store, "tester")
    ids = ids_of(store)
    s.label(ids[:1], 1)
    s.label(ids[1:2], 2)
    s.label(ids[2:3], 3)
    steps = views.recent_edits(store, 10, annotator="tester")
    second = sorted(x.batch for x in steps)[1]
    change = s.undo_to(second)
    assert change is not None and change.steps == 2
    assert sorted(change.frames) == ids[1:3]
    assert codes(store)[:3] == [1, None, None]
    # the same step again: already undone, not offered
    assert s.undo_to(second) is None
    Session(store, "someone else").label(ids[5:6], 6)
    theirs = max(x.batch for x in views.recent_edits(store, 10))
    assert s.undo_to(theirs) is None
    assert codes(store)[5] == 6


def test_fill_forward_stops_at_labelled_frame_deleted_skipped_and_scene_cut(store):
    store.add_clip(Clip("剪切", actor="演员", group="A", fps=25.0))
    indices = [0, 1, 2, 3, 4, 5, 6, 60, 61, 62, 63]
    fids = store.add_frames("剪切", [(i, i * 40.0, None, None) for i in indices])
    s = Session(store, "tester")
    s.label([fids[0]], 4)
    s.add_flag([fids[2]], "blur")
    s.label([fids[4]], 7)
    store.mark_aligned(fids[9], {"reset": True})
    rows = views.clip_frames(store, "剪切")
    fill = s.fill_forward(rows, 0)
    assert fill.frames == [fids[1], fids[3]]  # the deleted frame is skipped, not labelled
    assert fill.stop == 4 and "a labelled frame" in fill.message
    assert codes(store, "剪切")[:5] == [4, 4, None, 4, 7]
    rows = views.clip_frames(store, "剪切")
    fill = s.fill_forward(rows, 4)
    assert fill.frames == fids[5:7] and fill.stop == 7 and "a scene cut" in fill.message
    s.label([fids[7]], 2)
    rows = views.clip_frames(store, "剪切")
    fill = s.fill_forward(rows, 7)
    assert fill.frames == [fids[8]] and fill.stop == 9  # the tracker reset at 62
    # one undo step per fill
    assert s.undo().frames == [fids[8]]
    # nothing to fill / no label to fill: no frames, no edit
    rows = views.clip_frames(store, "剪切")
    assert s.fill_forward(rows, 6).frames == []  # frame 6 is labelled 7, next is after a cut
    empty = s.fill_forward(rows, 10)
    assert empty.frames == [] and "no label" in empty.message


def test_fill_rule_is_plain_python_over_rows(store):
    rows = views.clip_frames(store, CLIP)
    assert typical_step(rows) == 1
    assert not is_cut(rows[0], rows[1], 1)
    targets, stop = fill_targets(rows, 0, 1)
    assert targets == [r.id for r in rows[1:]] and stop is None


def test_blind_rule_decides_what_every_read_shows(store):
    ids = ids_of(store)
    other_ids = ids_of(store, OTHER)
    Session(store, "someone else").label(ids[:2] + other_ids[:2], 3)
    s = Session(store, "annotator A")
    assert not s.is_blind(CLIP) and s.viewer_of(CLIP) is None
    assert [r.code for r in s.clip_rows(CLIP)][:2] == [3, 3]  # the final label
    store.set_blind([CLIP])
    assert s.is_blind(CLIP) and not s.is_blind(OTHER) and not s.is_blind(None)
    assert s.viewer_of(CLIP) == "annotator A"
    assert [r.code for r in s.clip_rows(CLIP)][:2] == [None, None]  # own labels only
    got = s.rows([ids[0], other_ids[0]])
    assert got[ids[0]].code is None and got[other_ids[0]].code == 3
    summaries = s.clip_summaries()
    assert summaries[CLIP].labelled == 0 and summaries[OTHER].labelled == 2
    assert s.clip_summaries(CLIP)[CLIP].labelled == 0
    s.label(ids[:1], 6)
    assert s.rows([ids[0]])[ids[0]].code == 6
    assert [r.code for r in s.review_rows({"code": 3})] == []  # blind: own labels
    assert [r.code for r in s.review_rows({"code": 6})] == [6]
    nxt = s.next_unlabelled_clip(None)
    assert nxt is not None and nxt[0] == CLIP and nxt[1] == ids[1]
