"""The clip list of a big project (issue 19): per-clip counts read a chunk of clips at a time
(equal to the whole-project query and to one clip's), each clip's state, the filter, and the
second read-only handle the counts are read through. On both back ends."""

from __future__ import annotations

import threading

import pytest

from feasstm_gui.core.store import Clip, Store, views
from feasstm_gui.core.store import clip_list as cl

#: clip -> (work, actor, group)
CLIPS = {
    "未标 片段 1": ("作品 甲", "演员 一", "A"),
    "进行 片段 2": ("作品 甲", "演员 二", "B"),
    "完成 片段 3": ("作品 乙", "演员 一", "A"),
    "Flagged Clip 4": ("作品 乙", "演员 三", "C"),
    "empty clip 5": ("作品 乙", "演员 三", "C"),
}


@pytest.fixture(params=["sqlite", "pg"])
def store(cjk_dir, request):
    server = request.getfixturevalue("pg_url") if request.param == "pg" else None
    s = Store.create(cjk_dir / "项目 列表", annotator="alice", server=server)
    for clip, (work, actor, group) in CLIPS.items():
        done = "pending" if clip.startswith("empty") else "done"
        s.add_clip(Clip(clip, work=work, actor=actor, group=group, extract_status=done,
                        align_status=done))
        if not clip.startswith("empty"):
            s.add_frames(clip, [(i, i * 40.0, None, None) for i in range(4)])
    ids = {c: [r.id for r in s.frames(c)] for c in CLIPS}
    s.set_labels(ids["进行 片段 2"][:2], 3)
    s.set_labels(ids["完成 片段 3"][:3], 4)
    s.set_irrelevant(ids["完成 片段 3"][3:], True)
    s.set_labels(ids["Flagged Clip 4"], 5)
    s.set_deletion(ids["Flagged Clip 4"][:1], "blur", True)
    s.set_suggestions(ids["Flagged Clip 4"][1], {"incomplete": 0.4})
    # bob disagrees on one frame of the done clip: it has no final label, so it is left to do
    s.set_labels(ids["完成 片段 3"][:1], 6, annotator="bob")
    yield s
    s.close()


def test_chunked_counts_equal_the_whole_project_and_one_clip(store):
    whole = views.clip_summaries(store, viewer="alice")
    assert set(whole) == set(CLIPS) - {"empty clip 5"}  # no frames: no row
    got: dict = {}
    names = list(CLIPS)
    for start in range(0, len(names), 2):
        got.update(views.clip_summaries(store, viewer="alice", clip_ids=names[start:start + 2]))
    assert got == whole
    for clip in whole:
        assert views.clip_summaries(store, viewer="alice", clip_id=clip) == {clip: whole[clip]}
    s = whole["完成 片段 3"]
    assert (s.total, s.labelled, s.irrelevant, s.todo, s.disputed) == (4, 2, 1, 1, 1)
    s = whole["Flagged Clip 4"]
    assert (s.labelled, s.flagged, s.suggested, s.todo) == (3, 1, 1, 0)
    assert whole["未标 片段 1"].todo == 4 and whole["进行 片段 2"].todo == 2
    assert views.clip_summaries(store, viewer="alice", clip_ids=[]) == {}


def test_states_from_the_counts(store):
    whole = views.clip_summaries(store, viewer="alice")
    clips = {c.id: c for c in store.clips()}

    def states(name):
        return cl.clip_states(clips[name], whole.get(name, views.ClipSummary()))

    assert states("未标 片段 1") == {"unlabelled"}
    assert states("进行 片段 2") == {"in_progress"}
    assert states("完成 片段 3") == {"in_progress"}  # the disputed frame is left to do
    assert states("Flagged Clip 4") == {"done", "flagged"}
    assert states("empty clip 5") == {"to_process"}
    store.set_labels([store.frames("完成 片段 3")[0].id], 4, annotator="bob")  # now agreed
    whole = views.clip_summaries(store, viewer="alice")
    assert states("完成 片段 3") == {"done"}
    assert whole["完成 片段 3"].disputed == 0
    # bob's own labels are what bob sees on a blind clip
    store.set_blind(["完成 片段 3"])
    bobs = views.clip_summaries(store, viewer="bob", clip_ids=["完成 片段 3"])["完成 片段 3"]
    assert (bobs.labelled, bobs.todo) == (1, 2)


def test_filter_by_text_work_actor_group_and_state(store):
    clips = store.clips()
    whole = views.clip_summaries(store, viewer="alice")

    def shown(**kw):
        return [clips[i].id for i in cl.filter_clips(clips, cl.ClipFilter(**kw), whole)]

    assert shown() == list(CLIPS)
    assert shown(text="片段") == list(CLIPS)[:3]
    assert shown(text="flagged") == ["Flagged Clip 4"]  # any case
    assert shown(text="  CLIP ") == ["Flagged Clip 4", "empty clip 5"]
    assert shown(work="作品 乙") == list(CLIPS)[2:]
    assert shown(work="作品 乙", actor="演员 三") == ["Flagged Clip 4", "empty clip 5"]
    assert shown(group="A") == ["未标 片段 1", "完成 片段 3"]
    assert shown(state="unlabelled") == ["未标 片段 1"]
    assert shown(state="in_progress") == ["进行 片段 2", "完成 片段 3"]
    assert shown(state="done") == ["Flagged Clip 4"]
    assert shown(state="flagged", text="4") == ["Flagged Clip 4"]
    assert shown(state="to_process") == ["empty clip 5"]
    assert shown(text="nothing like it") == []
    # counts not read yet: a state filter leaves the clip out until they are
    partial = {k: v for k, v in whole.items() if k != "进行 片段 2"}
    assert [clips[i].id for i in cl.filter_clips(clips, cl.ClipFilter(state="in_progress"),
                                                  partial)] == ["完成 片段 3"]
    # typing further looks only at what the shorter search kept, with the same result
    wider = cl.ClipFilter(text="片")
    kept = cl.filter_clips(clips, wider, whole)
    for text in ("片段", "片段 2", "片段 9"):
        assert cl.narrows(cl.ClipFilter(text=text), wider)
        assert cl.filter_clips(clips, cl.ClipFilter(text=text), whole, among=kept) == \
            cl.filter_clips(clips, cl.ClipFilter(text=text), whole)
    assert not cl.narrows(cl.ClipFilter(text="片段", group="A"), wider)
    assert not cl.narrows(cl.ClipFilter(text="段"), wider)
    assert not cl.narrows(cl.ClipFilter(text="片段", state="done"),
                          cl.ClipFilter(text="片", state="done"))  # counts may come in
    assert cl.ClipFilter(state="done").needs_counts
    assert not cl.ClipFilter(state="to_process", text="x").needs_counts


def test_reader_handle_reads_from_another_thread_while_the_store_writes(store):
    db, owned = cl.reader_db(store)
    try:
        assert owned == (store.db.__class__.__name__ == "SqliteDatabase")
        if owned:
            assert db is not store.db
        before = views.clip_summaries(store, viewer="alice", clip_ids=["未标 片段 1"], db=db)
        assert before["未标 片段 1"].labelled == 0
        store.set_labels([store.frames("未标 片段 1")[0].id], 2)  # committed by the window
        out: dict = {}
        t = threading.Thread(target=lambda: out.update(views.clip_summaries(
            store, viewer="alice", clip_ids=["未标 片段 1"], db=db)))
        t.start()
        t.join(30)
        assert out["未标 片段 1"].labelled == 1
        if owned:  # read-only: it cannot write
            with pytest.raises(Exception, match="readonly|read-only"):
                db.execute("DELETE FROM clips")
    finally:
        if owned:
            cl.close_reader(db)
    assert len(store.clips()) == len(CLIPS)


def test_review_grid_pages_follow_each_other_in_clip_list_order(store):
    """The review grid a page at a time (views.review_frames(after=)): the pages join up to
    the whole list, in clip-list order, for a code, a reason and a suggestion."""
    for query in ({"code": 5}, {"code": 3}, {"reason": "blur"}, {"suggested": "incomplete"},
                  {}):
        whole = views.review_frames(store, viewer="alice", **query)
        pages, after = [], None
        while True:
            page = views.review_frames(store, viewer="alice", limit=2, after=after, **query)
            pages += page
            if len(page) < 2:
                break
            after = views.review_key(store, page[-1])
        assert [(r.clip, r.frame_index) for r in pages] == [(r.clip, r.frame_index)
                                                            for r in whole], query
    order = [c.id for c in store.clips()]
    everything = views.review_frames(store)
    assert [r.clip for r in everything] == sorted((r.clip for r in everything), key=order.index)
    assert [(r.clip, r.frame_index) for r in views.review_frames(store, viewer="alice", code=5)
            ] == [("Flagged Clip 4", i) for i in range(4)]


def test_reader_store_is_a_second_read_only_handle(store):
    reader, owned = cl.reader_store(store)
    try:
        assert owned and reader is not store and reader.read_only
        assert [c.id for c in reader.clips()] == list(CLIPS)
        store.set_labels([store.frames("未标 片段 1")[1].id], 7)
        assert views.clip_summaries(reader, viewer="alice",
                                    clip_id="未标 片段 1")["未标 片段 1"].labelled == 1
    finally:
        reader.close()
    assert store.clips()  # the window's store still open


def test_search_equals_a_plain_substring_test_over_many_names():
    """The search's loop in C (filter_clips) keeps what `text in name` (any case) keeps, in
    the list's order, looking at every clip or only at those a shorter search kept."""
    import random

    rng = random.Random(19)
    clips = [Clip(f"演员{c // 8:04d} 片段{c:05d}" if c % 3 else f"Actor{c % 7} CLIP {c}")
             for c in range(3000)]
    keys = cl.search_keys(clips)
    texts = ["演员0", "演员00", "段0001", "clip 1", "ACTOR3", " clip", "片段02999", "无", "0"]
    texts += [clips[rng.randrange(len(clips))].id[2:rng.randrange(3, 10)] for _ in range(20)]
    for text in texts:
        want = [i for i, c in enumerate(clips) if text.casefold().strip() in c.id.casefold()]
        got = cl.filter_clips(clips, cl.ClipFilter(text=text), {}, keys=keys)
        assert got == want, text
        shorter = cl.ClipFilter(text=text[:-1])
        if text[:-1].strip() and cl.narrows(cl.ClipFilter(text=text), shorter):
            among = cl.filter_clips(clips, shorter, {}, keys=keys)
            assert cl.filter_clips(clips, cl.ClipFilter(text=text), {}, keys=keys,
                                   among=among) == want, text
