"""Filters and sort, the review grid, the history panel, the strip model, missing crops."""

from __future__ import annotations

from conftest import FrameSpec
from PySide6.QtCore import Qt

from feasstm_gui.core.store import views
from feasstm_gui.ui.strip import FrameStripModel, ThumbStateRole
from feasstm_gui.ui.thumbs import ImageLoader

CLIP = "片段 一"


def shown(window):
    return [f.frame_index for f in window.strip_model.visible_frames()]


def test_filter_and_sort(window, make_project, qtbot):
    frames = [FrameSpec(code=4, sharpness=50, prob=0.91), FrameSpec(sharpness=10, prob=0.99),
              FrameSpec(reasons=("blur",), sharpness=5, prob=0.5),
              FrameSpec(suggested=("incomplete",), sharpness=80, prob=0.8),
              FrameSpec(code=4, sharpness=30, prob=None), FrameSpec(irrelevant=True)]
    built = make_project({CLIP: frames})
    window.set_store(built.store)
    bar = window.filter_bar
    assert shown(window) == [0, 1, 2, 3, 4, 5]
    bar.set_filter("unlabelled")
    assert shown(window) == [1, 3]
    assert "2 of 6" in bar.count.text()
    bar.set_filter("deleted")
    assert shown(window) == [2]
    bar.set_filter("code:4")
    assert shown(window) == [0, 4]
    bar.set_filter("suggested:incomplete")
    assert shown(window) == [3]
    bar.set_filter("irrelevant")
    assert shown(window) == [5]
    bar.set_filter("all")
    bar.set_sort("sharpness")
    # frames 0-4 have the sharpness given; frame 5 the fixture's default (105)
    assert shown(window) == [2, 1, 4, 0, 3, 5]
    bar.set_sort("sharpness", descending=True)
    assert shown(window)[:2] == [5, 3]
    bar.set_sort("prob")
    assert shown(window)[:3] == [2, 3, 0] and shown(window)[-1] == 4  # no score: last
    # labelling under a filter keeps the frame in view until the filter is applied again
    bar.set_sort("frame")
    bar.set_filter("unlabelled")
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_7)
    assert shown(window) == [1, 3]
    assert window.strip_model.visible_frames()[0].code == 7
    qtbot.keyClick(window.strip, Qt.Key.Key_F5)
    assert shown(window) == [3]


def test_review_grid_across_clips_and_relabel_there(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(code=4), FrameSpec(code=5), FrameSpec(code=4)],
                          "片段 二": [FrameSpec(code=4), FrameSpec(reasons=("blur",))]})
    window.set_store(built.store)
    qtbot.keyClick(window.strip, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert window.active_view() is window.review
    window.review_bar.set_query(code=4)
    frames = window.review_model.visible_frames()
    assert [(f.clip, f.frame_index) for f in frames] == [(CLIP, 0), (CLIP, 2), ("片段 二", 0)]
    # a mislabel caught in the grid: relabel it there
    window.review.go_to_row(2)
    window.review.setFocus()
    qtbot.keyClick(window.review, Qt.Key.Key_6)
    assert views.clip_frames(built.store, "片段 二")[0].code == 6
    assert window.review_model.frame_at(2).code == 6
    assert window.clip_model.summary("片段 二").labelled == 1
    window.review_bar.set_query(reason="blur")
    assert [(f.clip, f.frame_index) for f in window.review_model.visible_frames()] == \
        [("片段 二", 1)]
    # double-click opens the frame in its clip
    window.review.activated_frame.emit(window.review_model.frame_at(0))
    assert window.active_view() is window.strip
    assert window.clip_id == "片段 二"
    assert window.strip.current_frame().frame_index == 1


def test_history_panel_jump_and_undo_to_here(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(4)], "片段 二": [FrameSpec()]})
    window.set_store(built.store)
    window.strip.setFocus()
    for key in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3):
        qtbot.keyClick(window.strip, key)
    window.history.refresh()
    steps = window.history.steps()
    assert [s.description for s in steps[:3]] == ["label 3 (Disgust)", "label 2 (Fear)",
                                                  "label 1 (Surprise)"]
    window.set_clip("片段 二")
    window.history.list.setCurrentRow(2)  # "label 1": jump to its frame
    window.history._clicked(window.history.list.item(2))
    assert window.clip_id == CLIP
    assert window.strip.current_frame().frame_index == 0
    # undo from there: the three steps are undone
    window.history.undo_to_button.click()
    assert [r.code for r in views.clip_frames(built.store, CLIP)] == [None] * 4
    assert [f.code for f in window.strip_model.frames()] == [None] * 4
    window.history.refresh()
    assert all(s.state != "done" for s in window.history.steps()[:5])


def test_strip_model_passes_qt_model_tester(qtmodeltester, make_project, qapp):
    built = make_project({CLIP: [FrameSpec(code=c % 7 + 1) for c in range(12)]})
    loader = ImageLoader()
    model = FrameStripModel(loader)
    model.set_frames(views.clip_frames(built.store, CLIP), str(built.folder))
    qtmodeltester.check(model)
    from feasstm_gui.ui.filters import FILTERS, SORTS

    model.set_view(FILTERS[1], SORTS[2])
    qtmodeltester.check(model)
    loader.wait()


def test_missing_or_unreadable_crop_shows_placeholder_and_message(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(4)]})
    rows = views.clip_frames(built.store, CLIP)
    (built.folder / rows[1].crop).unlink()
    (built.folder / rows[2].crop).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    window.set_store(built.store)
    model = window.strip_model
    qtbot.waitUntil(lambda: [model.index(r).data(ThumbStateRole) for r in range(4)]
                    == ["ready", "missing", "missing", "ready"], timeout=5000)
    qtbot.waitUntil(lambda: "cannot be shown" in window.statusBar().currentMessage())
    assert "Re-align" in window.statusBar().currentMessage()
    # the window still works: select the broken frame, label it, the preview says why
    window.strip.go_to_row(1)
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_4)
    assert views.clip_frames(built.store, CLIP)[1].code == 4
    window.strip.go_to_row(2)
    qtbot.waitUntil(lambda: "unreadable" in window.preview.crop.text())
    window.strip.viewport().repaint()  # painting placeholders does not raise
