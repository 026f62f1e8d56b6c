"""Raters, groups, ratings and picks in the store: committed at once, undoable, audited."""

from __future__ import annotations

import pytest
from projects import make_project

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import ratings as rdb


@pytest.fixture(params=["sqlite", "pg"])
def store(cjk_dir, request):
    # on both back ends: the embedded SQLite store and a PostgreSQL server (issue 16)
    server = request.getfixturevalue("pg_url") if request.param == "pg" else None
    s = make_project(cjk_dir / "项目", {"片段 甲": ("演员 一", "A"), "片段 乙": ("演员 二", "A"),
                                        "片段 丙": ("演员 一", "B")}, server=server)
    yield s
    s.close()


def frame_ids(store, clip):
    return [f.id for f in store.frames(clip)]


def test_raters_and_groups_are_undoable(store):
    rdb.set_rater(store, "评分员 1", "A")
    rdb.set_rater(store, "r2", "A")
    rdb.set_rater(store, "r3", "B")
    assert [(r.name, r.group) for r in rdb.raters(store)] == [("r2", "A"), ("评分员 1", "A"),
                                                             ("r3", "B")]
    rdb.set_rater(store, "r3", "A")  # moved
    assert rdb.rater(store, "r3").group == "A"
    store.undo()
    assert rdb.rater(store, "r3").group == "B"
    rdb.remove_rater(store, "r3")
    assert rdb.rater(store, "r3") is None
    store.undo()
    assert rdb.rater(store, "r3").group == "B"
    with pytest.raises(FeasstmError, match="group name is empty"):
        rdb.set_rater(store, "r4", " ")


def test_clip_groups(store):
    assert rdb.clip_groups(store) == {"片段 甲": "A", "片段 乙": "A", "片段 丙": "B"}
    rdb.set_clip_groups(store, {"片段 丙": "A"})
    assert rdb.group_clips(store, "A") == ["片段 甲", "片段 乙", "片段 丙"]
    store.undo()
    assert store.clip("片段 丙").group == "B"
    rdb.set_rater(store, "r1", "C")
    assert rdb.groups(store) == {"A": (["片段 甲", "片段 乙"], []), "B": (["片段 丙"], []),
                                 "C": ([], ["r1"])}
    with pytest.raises(FeasstmError, match="no clip 'nope'"):
        rdb.set_clip_groups(store, {"nope": "A"})


def test_score_description_picks_each_one_undo_step_under_the_raters_name(store):
    clip = "片段 甲"
    f = frame_ids(store, clip)
    rdb.set_score(store, clip, "r1", 4)
    rdb.set_description(store, clip, "r1", "从平静到愤怒")
    rdb.set_picks(store, clip, "r1", f[:5])
    r = rdb.rating(store, clip, "r1")
    assert (r.score, r.description, r.picked_frames()) == (4, "从平静到愤怒", f[:5])
    assert r.picks == {1: f[0], 2: f[1], 3: f[2], 4: f[3], 5: f[4]}
    assert store.can_undo("tester") is None  # the rater's steps, not the annotator's
    assert store.undo("r1").description == f"pick frames of {clip}"
    assert rdb.rating(store, clip, "r1").picks == {}
    store.undo("r1")
    store.undo("r1")
    assert not rdb.rating(store, clip, "r1").started
    # nothing left behind: the first edit's undo removes the row
    assert rdb.ratings(store) == []
    store.redo("r1")
    assert rdb.rating(store, clip, "r1").score == 4


def test_edits_are_in_the_audit_log(store):
    rdb.set_score(store, "片段 甲", "r1", 2)
    rdb.set_score(store, "片段 甲", "r1", 5)
    steps = store.history(annotator="r1")
    assert [s.changes[0][2:] for s in steps] == [(2, 5), (None, 2)]
    assert steps[0].changes[0][1] == {"clip": "片段 甲", "rater": "r1"}


def test_score_out_of_range_is_refused_naming_clip_and_rater(store):
    with pytest.raises(FeasstmError, match="clip '片段 甲', rater 'r1': 6 is not a score"):
        rdb.set_score(store, "片段 甲", "r1", 6)


def test_picks_must_be_distinct_frames_of_the_clip(store):
    f = frame_ids(store, "片段 甲")
    other = frame_ids(store, "片段 乙")
    with pytest.raises(FeasstmError, match="picked twice"):
        rdb.set_picks(store, "片段 甲", "r1", [f[0], f[0]])
    with pytest.raises(FeasstmError, match="at most 5"):
        rdb.set_picks(store, "片段 甲", "r1", f[:6])
    with pytest.raises(FeasstmError, match="has no frame"):
        rdb.set_picks(store, "片段 甲", "r1", [other[0]])
    rdb.set_picks(store, "片段 甲", "r1", [f[0], None, f[2]])
    assert rdb.rating(store, "片段 甲", "r1").picks == {1: f[0], 3: f[2]}


def test_completed_and_reopened(store):
    rdb.set_completed(store, "片段 甲", "r1", True)
    assert rdb.rating(store, "片段 甲", "r1").completed
    rdb.set_completed(store, "片段 甲", "r1", False)
    assert not rdb.rating(store, "片段 甲", "r1").completed


def test_rating_edits_survive_reopen_and_undo_after_restart(store):
    folder = store.folder
    rdb.set_score(store, "片段 甲", "r1", 3)
    store.close()
    with Store.open(folder, annotator="tester") as again:
        assert rdb.rating(again, "片段 甲", "r1").score == 3
        assert again.undo("r1") is not None
        assert rdb.rating(again, "片段 甲", "r1").score is None


def test_summaries_count_only_completed_ratings_of_the_groups_raters(store):
    for name in ("r1", "r2"):
        rdb.set_rater(store, name, "A")
    rdb.set_rater(store, "r9", "B")
    rdb.set_score(store, "片段 甲", "r1", 4)
    rdb.set_completed(store, "片段 甲", "r1", True)
    rdb.set_score(store, "片段 甲", "r2", 5)  # not completed
    rdb.set_score(store, "片段 甲", "r9", 1)  # another group
    rdb.set_completed(store, "片段 甲", "r9", True)
    by_clip = {s.clip: s for s in rdb.clip_summaries(store)}
    assert by_clip["片段 甲"].scores == {"r1": 4}
    assert by_clip["片段 甲"].group_raters == 2
    assert by_clip["片段 丙"].group_raters == 1
    assert rdb.stray_ratings(store) == [("片段 甲", "r9", "A", "B")]
    assert rdb.rater_progress(store, "r1") == (1, 2)
    assert rdb.rater_progress(store, "nobody") == (0, 0)


def test_deleting_a_clip_removes_its_ratings_and_picks(store):
    f = frame_ids(store, "片段 乙")
    rdb.set_score(store, "片段 乙", "r1", 3)
    rdb.set_picks(store, "片段 乙", "r1", f[:2])
    store.remove_clip("片段 乙")
    assert rdb.ratings(store) == []


def test_disagreements_list_frames_labelled_differently(store):
    f = frame_ids(store, "片段 甲")
    store.set_labels(f[:3], 4, annotator="ann1")
    store.set_labels(f[:2], 4, annotator="ann2")
    store.set_labels([f[2]], 6, annotator="ann2")
    store.set_labels([f[1]], 5, annotator="ann3")
    found = rdb.disagreements(store)
    assert [(d.frame_id, d.labels) for d in found] == [
        (f[1], {"ann1": 4, "ann2": 4, "ann3": 5}), (f[2], {"ann1": 4, "ann2": 6})]
    store.adjudicate([f[1]], 4)
    assert [d.frame_id for d in rdb.disagreements(store)] == [f[2]]
    assert [d.adjudicated for d in rdb.disagreements(store, include_resolved=True)] == [4, None]
    store.set_deletion([f[2]], "blur", True)
    assert rdb.disagreements(store) == []
    assert rdb.label_annotators(store) == ["ann1", "ann2", "ann3"]
    assert rdb.label_rows(store) == [
        ("片段 甲/0", "ann1", 4), ("片段 甲/0", "ann2", 4),
        ("片段 甲/3", "ann1", 4), ("片段 甲/3", "ann2", 4), ("片段 甲/3", "ann3", 5)]
