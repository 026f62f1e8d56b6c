"""The status bar's counts (issue 14: opening and labelling stay fast): right after opening a
clip, after labelling it with keys, after going to another clip and back; and every count read
off the window's thread (opening or switching a clip never counts its frames there)."""

from __future__ import annotations

import threading

from conftest import FrameSpec
from PySide6.QtCore import Qt

from feasstm_gui.core.store import views

CLIP = "片段 一"
OTHER_CLIP = "片段 二"


def project(make_project):
    return make_project({
        CLIP: [FrameSpec(code=3), FrameSpec(), FrameSpec(reasons=("blur",)), FrameSpec(),
               FrameSpec(suggested=("blur",)), FrameSpec()],
        OTHER_CLIP: [FrameSpec(code=2), FrameSpec(code=2), FrameSpec()],
    })


def counts(window) -> str:
    return window.status_info.counts_label.text()


def test_status_bar_counts_after_opening_labelling_and_switching(window, make_project, qtbot,
                                                               monkeypatch):
    on_window_thread: list[bool] = []
    real = views.clip_summaries

    def spy(*args, **kwargs):
        on_window_thread.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "clip_summaries", spy)
    built = project(make_project)
    window.set_store(built.store)
    assert window.clip_id == CLIP
    qtbot.waitUntil(lambda: counts(window).startswith(
        "clip: 1 labelled · 1 deleted · 1 suggested · 6 frames   |   "), timeout=10000)
    qtbot.waitUntil(lambda: counts(window).endswith(
        "project: 3 labelled · 1 deleted · 9 frames"), timeout=10000)

    # label frames 1 and 3 with keys (4, then 6 after moving on), relabel frame 0
    strip = window.strip
    strip.setFocus()
    strip.go_to_row(1)
    qtbot.keyClick(strip, Qt.Key.Key_4)
    assert strip.current_frame().frame_index == 2
    qtbot.keyClick(strip, Qt.Key.Key_Right)
    qtbot.keyClick(strip, Qt.Key.Key_6)
    strip.go_to_row(0)
    qtbot.keyClick(strip, Qt.Key.Key_5)  # relabelled: still one labelled frame
    assert [f.code for f in views.clip_frames(built.store, CLIP)] == [5, 4, None, 6, None, None]
    qtbot.waitUntil(lambda: counts(window).startswith(
        "clip: 3 labelled · 1 deleted · 1 suggested · 6 frames   |   "), timeout=5000)
    assert counts(window).endswith("project: 5 labelled · 1 deleted · 9 frames")
    # deleting a labelled frame: no longer counted as labelled
    strip.go_to_row(1)
    qtbot.keyClick(strip, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: counts(window).startswith(
        "clip: 2 labelled · 2 deleted · 1 suggested · 6 frames   |   "), timeout=5000)

    # the other clip (Down in the clip list), then back: each clip's own counts
    window.clip_view.setFocus()
    qtbot.keyClick(window.clip_view, Qt.Key.Key_Down)
    assert window.clip_id == OTHER_CLIP
    qtbot.waitUntil(lambda: counts(window).startswith(
        "clip: 2 labelled · 0 deleted · 0 suggested · 3 frames   |   "), timeout=5000)
    qtbot.keyClick(window.clip_view, Qt.Key.Key_Up)
    assert window.clip_id == CLIP
    qtbot.waitUntil(lambda: counts(window).startswith(
        "clip: 2 labelled · 2 deleted · 1 suggested · 6 frames   |   "), timeout=5000)
    assert counts(window).endswith("project: 4 labelled · 2 deleted · 9 frames")
    # the counts the window kept are those the store holds
    assert window.clip_model.known()[CLIP] == real(built.store, viewer="tester",
                                                    clip_id=CLIP)[CLIP]

    # every count was read, and none on the window's thread
    assert on_window_thread and not any(on_window_thread)


def test_a_clip_not_counted_yet_says_so_until_its_counts_come(window, make_project, qtbot,
                                                             monkeypatch):
    """Opening does not wait for the counts: the status bar says "counting…" meanwhile."""
    gate = threading.Event()
    real = views.clip_summaries

    def held(*args, **kwargs):
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "clip_summaries", held)
    built = project(make_project)
    try:
        window.set_store(built.store)
        assert window.strip_model.rowCount() == 6  # the strip is there at once
        window.status_info.show_counts()
        assert counts(window).startswith("clip: counting…   |   ")
        assert CLIP not in window.clip_model.known()
    finally:
        gate.set()
    qtbot.waitUntil(lambda: counts(window).startswith(
        "clip: 1 labelled · 1 deleted · 1 suggested · 6 frames   |   "), timeout=10000)
    assert built.store is window.store


def test_counts_read_before_a_change_are_not_taken(window, make_project, qtbot):
    """A read of the counts that began before frames changed under it (a job, an edit in
    another clip) is dropped, and the clip read again: the clip list never goes back to older
    counts."""
    from feasstm_gui.core.store.views import ClipSummary

    built = project(make_project)
    window.set_store(built.store)
    filler = window.clip_list.filler
    qtbot.waitUntil(lambda: not filler.running, timeout=10000)
    model = window.clip_model
    before = filler.seq
    # a frame of the other clip deleted behind the window's back, then the clip read again
    ids = built.ids[OTHER_CLIP]
    built.store.toggle_deletion([ids[0]], "blur")
    model.recount(OTHER_CLIP)
    assert model.is_stale(OTHER_CLIP)
    # counts of the clip read before the change arrive late: not taken
    window.clip_list._got({OTHER_CLIP: ClipSummary(total=3, labelled=2)}, filler.generation,
                          before)
    qtbot.waitUntil(lambda: not model.is_stale(OTHER_CLIP), timeout=10000)
    s = model.known()[OTHER_CLIP]
    assert (s.total, s.labelled, s.flagged) == (3, 1, 1)


def test_painting_a_clip_waiting_to_be_counted_again_reads_nothing(window, make_project,
                                                                   qtbot):
    """The clip list's painter shows the counts known for a clip whose counts wait to be read
    again: it never reads them on the window's thread (it did, for a clip not extracted, when
    the paint came before the reader)."""
    built = project(make_project)
    window.set_store(built.store)
    model = window.clip_model
    qtbot.waitUntil(lambda: CLIP in model.known() and OTHER_CLIP in model.known(), timeout=10000)
    fetched: list[str] = []
    model.fetch = lambda clip_id: fetched.append(clip_id)
    model.refresh = lambda clip_id: None  # the reader holds back: the clip stays waiting
    model.recount(CLIP)
    assert model.is_stale(CLIP)
    for row in range(model.rowCount()):
        clip, known, status = model.paint_data(row)
        assert known == model.known()[clip.id] and status is not None
    window.clip_view.viewport().repaint()
    assert fetched == []
