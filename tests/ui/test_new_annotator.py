"""What a new annotator tripped over (issue 20), driven with keys as they did: fill forward at
a cut, disagreements, irrelevant frames, flag keys, keyboard reach, the small ones."""

from __future__ import annotations

import pytest
from conftest import FrameSpec
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from feasstm_gui.core.store import views

CLIP = "宇航员 Collins"
OTHER = "示例 标注员二"


def codes(store, clip=CLIP, annotator=None):
    return [r.code for r in views.clip_frames(store, clip, annotator=annotator)]


def mark_cut(store, frame_id: int) -> None:
    """What the tracker writes at a scene cut: `cut: true` in the face's scores."""
    store._query("UPDATE faces SET scores=json_set(COALESCE(scores, '{}'), '$.cut', json('true'))"
                 " WHERE frame_id=?", (frame_id,))


def collins(make_project):
    """40 frames: 0-25 the actor, 26-31 no face (irrelevant), a cut at 32, 32-39 the actor;
    11 labelled 7."""
    frames = [FrameSpec(irrelevant=26 <= i <= 31) for i in range(40)]
    frames[11].code = 7
    built = make_project({CLIP: frames})
    mark_cut(built.store, built.ids[CLIP][32])
    return built


def go(window, qtbot, index: int) -> None:
    window.strip.go_to_row(window.strip_model.row_of(window.strip_model.frames()[index].id))
    window.strip.setFocus()


def test_fill_forward_stops_at_the_faceless_run_and_the_cut_and_says_why(window, make_project,
                                                                         qtbot):
    built = collins(make_project)
    window.set_store(built.store)
    go(window, qtbot, 11)
    qtbot.keyClick(window.strip, Qt.Key.Key_F)
    got = codes(built.store)
    assert got[12:26] == [7] * 14
    assert got[26:] == [None] * 14  # nothing after the faceless frames and the cut
    msg = window.statusBar().currentMessage()
    assert "Filled 14 frames (12-25) with 7 Neutral" in msg
    assert "stopped at frame 26: 6 faceless or deleted frames (26-31)" in msg
    assert window.strip.current_frame().frame_index == 26
    # label 33 and fill back... from 32: the cut is before 32, so filling from 32 goes on
    go(window, qtbot, 32)
    qtbot.keyClick(window.strip, Qt.Key.Key_4)
    go(window, qtbot, 32)
    qtbot.keyClick(window.strip, Qt.Key.Key_F)
    assert codes(built.store)[32:] == [4] * 8
    assert "up to the end of the clip" in window.statusBar().currentMessage()
    # the cut is marked on the strip (and said in the frame's tooltip)
    assert window.strip_model.cuts == {built.ids[CLIP][32]}
    idx = window.strip_model.index(window.strip_model.row_of(built.ids[CLIP][32]))
    assert "scene cut before this frame" in idx.data(Qt.ItemDataRole.ToolTipRole)


def test_fill_forward_stops_before_a_cut(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(code=5)] + [FrameSpec() for _ in range(9)]})
    mark_cut(built.store, built.ids[CLIP][6])
    window.set_store(built.store)
    go(window, qtbot, 0)
    qtbot.keyClick(window.strip, Qt.Key.Key_F)
    assert codes(built.store) == [5] * 6 + [None] * 4
    assert "stopped before frame 6: a scene cut" in window.statusBar().currentMessage()


def test_disagreements_show_my_label_a_badge_a_filter_and_a_count(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(6)]})
    ids = built.ids[CLIP]
    store = built.store
    store.set_labels(ids[:4], 4, annotator="tester")
    store.set_labels(ids[:2], 4, annotator=OTHER)
    store.set_labels(ids[2:4], 7, annotator=OTHER)  # 2 and 3 in disagreement
    store.set_labels(ids[4:5], 6, annotator=OTHER)  # 4: only the other annotator
    window.set_store(store)
    model = window.strip_model
    assert set(model.disputes) == {ids[2], ids[3]}
    # my own label is shown on the tile, with the codes given
    assert [f.code for f in model.frames()] == [4, 4, 4, 4, 6, None]
    assert model.index(2).data(Qt.ItemDataRole.ToolTipRole).count("in disagreement") == 1
    assert "≠ 2 here · 2 in project" == window.dispute_count.text()
    # the preview says it, not "unlabelled"
    go(window, qtbot, 2)
    window.flush_preview()
    text = window.preview.scores.text()
    assert "in disagreement" in text and "your label: 4 Happy" in text
    assert "unlabelled" not in text
    # pressing a code on it: the tile shows it, the status bar says so
    qtbot.keyClick(window.strip, Qt.Key.Key_5)
    assert codes(store, annotator="tester")[2] == 5
    assert model.frames()[2].code == 5 and ids[2] in model.disputes
    assert window.statusBar().currentMessage() == "1 frame(s): 5 Sadness"
    # N skips frames in disagreement: it lands on the one nobody labelled
    go(window, qtbot, 0)
    qtbot.keyClick(window.strip, Qt.Key.Key_N)
    assert window.strip.current_frame().frame_index == 5
    # the filter lists them
    window.filter_bar.set_filter("disputed")
    assert [f.frame_index for f in model.visible_frames()] == [2, 3]
    # agreeing ends the disagreement: the count follows
    window.filter_bar.set_filter("all")
    go(window, qtbot, 3)
    qtbot.keyClick(window.strip, Qt.Key.Key_7)
    assert ids[3] not in model.disputes and model.frames()[3].code == 7
    assert window.dispute_count.text().startswith("≠ 1 here")
    assert window.clip_model.summary(CLIP).labelled == 4  # 0, 1, 3 (agreed) and 4
    # a deleted frame is not counted (the count follows the edit, not a walk over the clip)
    go(window, qtbot, 2)
    qtbot.keyClick(window.strip, Qt.Key.Key_B)
    assert model.frames()[2].reasons and ids[2] in model.disputes
    assert window.dispute_count.text() == ""
    go(window, qtbot, 2)
    qtbot.keyClick(window.strip, Qt.Key.Key_B)  # not deleted again: counted again
    assert window.dispute_count.text().startswith("≠ 1 here")


def test_export_dialog_says_how_many_frames_it_leaves_out_and_why(window, make_project, qtbot):
    from feasstm_gui.ui.export_dialog import ExportDialog

    built = make_project({CLIP: [FrameSpec(code=4), FrameSpec(code=4), FrameSpec(),
                                 FrameSpec(reasons=("blur",)), FrameSpec(irrelevant=True)]})
    ids = built.ids[CLIP]
    built.store.set_labels(ids[1:2], 6, annotator=OTHER)
    dlg = ExportDialog(built.store, window)
    qtbot.addWidget(dlg)
    dlg.refresh_plan()
    text = dlg.summary_label.text()
    assert "Left out: 4 frame(s)" in text
    assert "1 in disagreement (annotators gave different codes" in text
    assert "1 unlabelled" in text and "1 deleted" in text and "1 irrelevant" in text


def test_an_irrelevant_frame_refuses_a_code_and_says_so(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(), FrameSpec(irrelevant=True), FrameSpec()]})
    window.set_store(built.store)
    go(window, qtbot, 1)
    qtbot.keyClick(window.strip, Qt.Key.Key_5)
    assert codes(built.store) == [None, None, None]
    assert window.strip_model.frames()[1].code is None
    msg = window.statusBar().currentMessage()
    assert msg == ("Not labelled: frame 1 is irrelevant (no face of the actor); X makes a frame "
                   "relevant")
    assert window.strip.current_frame().frame_index == 1  # stays: nothing was done
    # a range over it labels the others and says what it left out
    qtbot.keyClick(window.strip, Qt.Key.Key_Home)
    qtbot.keyClick(window.strip, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.strip, Qt.Key.Key_3)
    assert codes(built.store) == [3, None, 3]
    assert window.statusBar().currentMessage() == ("2 frame(s) labelled; frame 1 is irrelevant "
                                                   "(no face of the actor)")
    assert window.clip_model.summary(CLIP).labelled == 2


@pytest.mark.parametrize("key", [Qt.Key.Key_A, Qt.Key.Key_I, Qt.Key.Key_B, Qt.Key.Key_Delete,
                                 Qt.Key.Key_S])
def test_flag_keys_advance_like_code_keys(window, make_project, qtbot, key):
    built = make_project({CLIP: [FrameSpec(suggested=("blur",)) for _ in range(3)]})
    window.set_store(built.store)
    go(window, qtbot, 0)
    qtbot.keyClick(window.strip, key)
    assert views.clip_frames(built.store, CLIP)[0].reasons
    assert window.strip.current_frame().frame_index == 1
    window.settings.set("advance_after_flag", False)  # the preference turns it off
    qtbot.keyClick(window.strip, key)
    assert views.clip_frames(built.store, CLIP)[1].reasons
    assert window.strip.current_frame().frame_index == 1


def _popup_open(box) -> bool:
    return box.view().isVisible()


def test_an_open_dropdown_takes_its_own_keys(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(30)]})
    window.set_store(built.store)
    go(window, qtbot, 0)
    qtbot.keyClick(window.strip, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    box = window.filter_bar.filter_box
    qtbot.waitUntil(lambda: _popup_open(box))
    popup = box.view()
    before = popup.currentIndex().row()
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    assert window.strip.current_frame().frame_index == 0  # the strip behind did not move
    assert popup.currentIndex().row() == before + 2
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert box.currentIndex() == before + 2
    # the Sort list too
    sort = window.filter_bar.sort_box
    sort.setFocus()
    sort.showPopup()
    qtbot.waitUntil(lambda: _popup_open(sort))
    qtbot.keyClick(sort.view(), Qt.Key.Key_Down)
    assert window.strip.current_frame() is None or \
        window.strip.current_frame().frame_index in (0, 1, 2)
    qtbot.keyClick(sort.view(), Qt.Key.Key_Escape)


def test_ctrl_f_on_the_review_tab_opens_the_review_list(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(code=4), FrameSpec(code=5)]})
    window.set_store(built.store)
    qtbot.keyClick(window.strip, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 1
    qtbot.keyClick(window.review, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 1  # stays on the Review tab
    box = window.review_bar.box
    qtbot.waitUntil(lambda: _popup_open(box))
    qtbot.keyClick(box.view(), Qt.Key.Key_Down)
    qtbot.keyClick(box.view(), Qt.Key.Key_Down)
    qtbot.keyClick(box.view(), Qt.Key.Key_Down)
    qtbot.keyClick(box.view(), Qt.Key.Key_Return)
    assert window.review_bar.query() == {"code": 4}
    assert [f.code for f in window.review_model.visible_frames()] == [4]


def test_f5_keeps_the_selection(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(6)]})
    window.set_store(built.store)
    go(window, qtbot, 2)
    qtbot.keyClick(window.strip, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.strip, Qt.Key.Key_F5)
    assert [f.frame_index for f in window.strip.selected_frames()] == [2, 3]
    assert window.strip.current_frame().frame_index == 3


def test_a_code_key_in_a_read_only_project_says_read_only(window, make_project, qtbot):
    from feasstm_gui.core.store import Store

    built = make_project({CLIP: [FrameSpec() for _ in range(6)]})
    folder = built.folder
    built.store.close()
    window.set_store(Store.open(folder, annotator="tester", read_only=True))
    go(window, qtbot, 0)
    qtbot.keyClick(window.strip, Qt.Key.Key_4)
    assert window.strip.current_frame().frame_index == 0  # did not jump to frame 4
    assert "read-only" in window.statusBar().currentMessage()
    assert codes(window.store) == [None] * 6


def test_reopening_returns_to_the_last_clip_and_frame(window, make_project, qtbot):
    built = make_project({"片段 一": [FrameSpec() for _ in range(4)],
                          CLIP: [FrameSpec() for _ in range(9)]})
    folder = built.folder
    window.set_store(built.store)
    window.set_clip(CLIP)
    go(window, qtbot, 7)
    window.close()  # saves where it was
    from feasstm_gui.core.settings import Settings
    from feasstm_gui.ui.main_window import MainWindow

    again = MainWindow(Settings.load(), "tester")
    qtbot.addWidget(again)
    assert again.open_path(folder)
    assert again.clip_id == CLIP
    assert again.strip.current_frame().frame_index == 7
    again.close()


def test_preview_reads_like_an_annotator_with_details_behind_a_toggle(window, make_project,
                                                                      qtbot):
    built = make_project({CLIP: [FrameSpec(), FrameSpec()]})
    built.store._query("UPDATE faces SET scores=json(?)", ('{"sharpness_rel": 0.42, "yaw": '
                       '-12.0, "roll": 3.0, "status": "acquired", "mode": "roi", '
                       '"duplicate": null}',))
    window.set_store(built.store)
    go(window, qtbot, 0)
    window.flush_preview()
    text = window.preview.scores.text()
    assert "42% of the clip's median" in text and "detection confidence: 99.0%" in text
    assert "head turned 12° left" in text
    assert "status" not in text and "mode" not in text and "duplicate" not in text
    window.preview.details_box.click()
    text = window.preview.scores.text()
    assert "status = &quot;acquired&quot;" in text or 'status = "acquired"' in text
    assert "duplicate = null" in text


def test_legend_is_one_line_in_words_and_history_lines_wrap(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(3)]})
    window.set_store(built.store)
    assert "alignment_failure" not in window.legend.text()
    assert "misaligned" in window.legend.text() and not window.legend.wordWrap()
    go(window, qtbot, 0)
    qtbot.keyClick(window.strip, Qt.Key.Key_4)
    window.history.refresh()
    item = window.history.list.item(0)
    assert item.text().count("\n") == 1 and "label 4" in item.text().split("\n")[1]
    assert window.history.list.wordWrap()


def test_applying_a_filter_does_not_move_the_bar(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(code=4)] + [FrameSpec() for _ in range(5)]})
    window.set_store(built.store)
    x = window.filter_bar.sort_box.geometry().x()
    width = window.filter_bar.count.width()
    window.filter_bar.set_filter("labelled")
    QApplication.processEvents()
    assert window.filter_bar.count.text() == "1 of 6 frames shown"
    assert window.filter_bar.sort_box.geometry().x() == x
    assert window.filter_bar.count.width() == width
