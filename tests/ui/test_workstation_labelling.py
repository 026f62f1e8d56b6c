"""Labelling with the keyboard as an annotator does: keys, ranges, flags, fill forward, undo."""

from __future__ import annotations

import pytest
from conftest import FrameSpec
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from feasstm_gui.core.store import views

CLIP = "片段 一"


def codes(store, clip=CLIP, annotator=None):
    return [r.code for r in views.clip_frames(store, clip, annotator=annotator)]


def reasons(store, clip=CLIP):
    return [set(r.reasons) for r in views.clip_frames(store, clip)]


@pytest.fixture
def opened(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(8)],
                          "片段 二": [FrameSpec() for _ in range(3)]})
    window.set_store(built.store)
    window.strip.setFocus()
    qtbot.waitUntil(lambda: window.strip_model.rowCount() == 8)
    return window, built


def test_label_a_clip_with_keys_only(opened, qtbot):
    window, built = opened
    strip = window.strip
    for key in (Qt.Key.Key_4, Qt.Key.Key_4, Qt.Key.Key_7, Qt.Key.Key_1, Qt.Key.Key_2,
                Qt.Key.Key_3, Qt.Key.Key_5, Qt.Key.Key_6):
        qtbot.keyClick(strip, key)
    assert codes(built.store) == [4, 4, 7, 1, 2, 3, 5, 6]
    # the strip shows what the store holds, without reloading the clip
    assert [f.code for f in window.strip_model.frames()] == [4, 4, 7, 1, 2, 3, 5, 6]
    # go back, clear one with 0 and one with Backspace, relabel with the keypad
    qtbot.keyClick(strip, Qt.Key.Key_Home)
    qtbot.keyClick(strip, Qt.Key.Key_0)
    qtbot.keyClick(strip, Qt.Key.Key_Right)
    qtbot.keyClick(strip, Qt.Key.Key_Backspace)
    assert codes(built.store)[:2] == [None, None]
    qtbot.keyClick(strip, Qt.Key.Key_3, Qt.KeyboardModifier.KeypadModifier)
    assert codes(built.store)[:3] == [None, 3, 7]
    # every edit is stamped with the annotator
    rows = built.store.db.query("SELECT DISTINCT annotator FROM edits WHERE state != 'log'")
    assert rows == [("tester",)]
    # the clip list counts follow the edits
    assert window.clip_model.summary(CLIP).labelled == 7
    assert "annotator: tester" in window.annotator_label.text()


def test_navigation_keys(opened, qtbot):
    window, _ = opened
    strip = window.strip
    qtbot.keyClick(strip, Qt.Key.Key_End)
    assert strip.current_frame().frame_index == 7
    qtbot.keyClick(strip, Qt.Key.Key_Left)
    assert strip.current_frame().frame_index == 6
    qtbot.keyClick(strip, Qt.Key.Key_Home)
    assert strip.current_frame().frame_index == 0
    per_row = sum(strip.visualRect(window.strip_model.index(r)).top()
                  == strip.visualRect(window.strip_model.index(0)).top() for r in range(8))
    qtbot.keyClick(strip, Qt.Key.Key_Down)
    assert strip.current_frame().frame_index == min(per_row, 7)
    qtbot.keyClick(strip, Qt.Key.Key_Up)
    assert strip.current_frame().frame_index == 0
    qtbot.keyClick(strip, Qt.Key.Key_PageDown)
    assert strip.current_frame().frame_index > 0
    qtbot.keyClick(strip, Qt.Key.Key_PageUp)
    assert strip.current_frame().frame_index == 0
    qtbot.keyClick(strip, Qt.Key.Key_BracketRight)  # next clip
    assert window.clip_id == "片段 二"
    qtbot.keyClick(strip, Qt.Key.Key_BracketLeft)
    assert window.clip_id == CLIP


def test_range_labelling_with_shift_arrows_and_shift_click(opened, qtbot):
    window, built = opened
    strip = window.strip
    qtbot.keyClick(strip, Qt.Key.Key_Right)  # frame 1
    for _ in range(3):
        qtbot.keyClick(strip, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert [f.frame_index for f in strip.selected_frames()] == [1, 2, 3, 4]
    qtbot.keyClick(strip, Qt.Key.Key_5)
    assert codes(built.store) == [None, 5, 5, 5, 5, None, None, None]
    assert strip.current_frame().frame_index == 5  # moved past the range
    assert [f.frame_index for f in strip.selected_frames()] == [5]
    # click frame 5, shift+click frame 7: a flag applies to the whole range
    model = window.strip_model
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=_center(strip, model, 5))
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.ShiftModifier, _center(strip, model, 7))
    assert [f.frame_index for f in strip.selected_frames()] == [5, 6, 7]
    qtbot.keyClick(strip, Qt.Key.Key_B)
    assert reasons(built.store)[5:] == [{"blur"}] * 3
    # shift+left shrinks the range from the same anchor
    qtbot.keyClick(strip, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert [f.frame_index for f in strip.selected_frames()] == [5, 6]
    qtbot.keyClick(strip, Qt.Key.Key_7)
    assert codes(built.store)[5:] == [7, 7, None]


def _center(view, model, row) -> QPoint:
    return view.visualRect(model.index(row)).center()


def test_flags_with_each_reason_toggle_without_confirmation(opened, qtbot):
    window, built = opened
    strip = window.strip
    for key, reason in ((Qt.Key.Key_A, "alignment_failure"), (Qt.Key.Key_I, "incomplete"),
                        (Qt.Key.Key_B, "blur")):
        qtbot.keyClick(strip, key)
        assert reasons(built.store)[0] == {reason}
        assert window.strip_model.frames()[0].reasons == {reason}
        assert strip.current_frame().frame_index == 1  # a flag key moves on, as a code key
        qtbot.keyClick(strip, Qt.Key.Key_Left)
        qtbot.keyClick(strip, key)  # again: the reason goes away
        assert reasons(built.store)[0] == set()
        qtbot.keyClick(strip, Qt.Key.Key_Left)
    qtbot.keyClick(strip, Qt.Key.Key_Delete)
    qtbot.keyClick(strip, Qt.Key.Key_Left)
    qtbot.keyClick(strip, Qt.Key.Key_Delete)  # Delete adds `other`; it does not toggle
    assert reasons(built.store)[0] == {"other"}
    qtbot.keyClick(strip, Qt.Key.Key_Left)
    qtbot.keyClick(strip, Qt.Key.Key_B)
    assert reasons(built.store)[0] == {"other", "blur"}
    assert window.clip_model.summary(CLIP).flagged == 1
    qtbot.keyClick(strip, Qt.Key.Key_Left)
    qtbot.keyClick(strip, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)  # restore
    assert reasons(built.store)[0] == set()
    assert window.clip_model.summary(CLIP).flagged == 0
    qtbot.keyClick(strip, Qt.Key.Key_X)  # irrelevant
    assert views.clip_frames(built.store, CLIP)[0].irrelevant


def test_accept_suggested_flags_for_a_selection(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(suggested=("blur",)),
                                 FrameSpec(suggested=("incomplete", "blur")), FrameSpec()]})
    window.set_store(built.store)
    strip = window.strip
    strip.setFocus()
    qtbot.keyClick(strip, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(strip, Qt.Key.Key_S)
    rows = views.clip_frames(built.store, CLIP)
    assert [set(r.reasons) for r in rows] == [{"blur"}, {"incomplete", "blur"}, set()]
    assert [set(r.suggested) for r in rows] == [set(), set(), set()]
    assert window.clip_model.summary(CLIP).suggested == 0
    qtbot.keyClick(strip, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    rows = views.clip_frames(built.store, CLIP)
    assert [set(r.suggested) for r in rows] == [{"blur"}, {"incomplete", "blur"}, set()]
    assert window.strip_model.frames()[0].suggested == {"blur"}


def test_undo_and_redo_keys(opened, qtbot):
    window, built = opened
    strip = window.strip
    qtbot.keyClick(strip, Qt.Key.Key_4)
    qtbot.keyClick(strip, Qt.Key.Key_B)  # on frame 1
    assert codes(built.store)[:2] == [4, None] and reasons(built.store)[1] == {"blur"}
    qtbot.keyClick(strip, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert reasons(built.store)[1] == set()
    assert window.strip_model.frames()[1].reasons == frozenset()
    qtbot.keyClick(strip, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert codes(built.store)[0] is None
    assert window.strip_model.frames()[0].code is None
    qtbot.keyClick(strip, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert codes(built.store)[0] == 4
    qtbot.keyClick(strip, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert reasons(built.store)[1] == {"blur"}
    assert window.strip_model.frames()[1].reasons == {"blur"}


def test_undo_survives_a_restart_of_the_window(opened, qtbot):
    from feasstm_gui.core.settings import Settings
    from feasstm_gui.ui.main_window import MainWindow

    window, built = opened
    qtbot.keyClick(window.strip, Qt.Key.Key_6)
    folder = built.folder
    window.close()  # closes the store
    again = MainWindow(Settings.load(), "tester")
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    again.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is again)
    assert again.open_path(folder)
    assert again.strip_model.frames()[0].code == 6
    again.strip.setFocus()
    qtbot.keyClick(again.strip, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert codes(again.store)[0] is None
    assert again.strip_model.frames()[0].code is None
    again.close()


def test_fill_forward_stops_at_labelled_frame_and_scene_cut(window, make_project, qtbot):
    frames = [FrameSpec(code=4), FrameSpec(), FrameSpec(reasons=("blur",)), FrameSpec(),
              FrameSpec(code=7), FrameSpec(), FrameSpec(),
              FrameSpec(frame_index=60), FrameSpec(frame_index=61),  # a jump: a scene cut
              FrameSpec(frame_index=62, track={"reset": True}), FrameSpec(frame_index=63)]
    for i, f in enumerate(frames[:7]):
        f.frame_index = i
    built = make_project({CLIP: frames})
    window.set_store(built.store)
    strip = window.strip
    strip.setFocus()
    qtbot.keyClick(strip, Qt.Key.Key_F)  # from frame 0 (code 4)
    assert codes(built.store) == [4, 4, None, 4, 7, None, None, None, None, None, None]
    assert strip.current_frame().frame_index == 4  # stopped at the labelled frame
    qtbot.keyClick(strip, Qt.Key.Key_F)  # from frame 4 (code 7): up to the jump to 60
    assert codes(built.store)[4:8] == [7, 7, 7, None]
    window.strip.go_to_row(window.strip_model.row_of(built.ids[CLIP][7]))
    qtbot.keyClick(strip, Qt.Key.Key_2)  # frame 60 labelled 2, moves to 61
    qtbot.keyClick(strip, Qt.Key.Key_Left)
    qtbot.keyClick(strip, Qt.Key.Key_F)  # fills 61, stops at the tracker reset at 62
    assert codes(built.store)[7:] == [2, 2, None, None]
    # one undo step per fill
    qtbot.keyClick(strip, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert codes(built.store)[7:] == [2, None, None, None]


def test_next_unlabelled_then_next_clip(opened, qtbot):
    window, built = opened
    strip = window.strip
    built.store.set_labels(built.ids[CLIP][:7], 4)
    window.reload_clip(keep=False)
    qtbot.keyClick(strip, Qt.Key.Key_N)
    assert strip.current_frame().frame_index == 7
    qtbot.keyClick(strip, Qt.Key.Key_7)
    qtbot.keyClick(strip, Qt.Key.Key_N)  # nothing left here: the next clip with work
    assert window.clip_id == "片段 二"
    assert strip.current_frame().frame_index == 0


def test_blind_pass_shows_only_my_labels(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(), FrameSpec()]}, blind=[CLIP])
    ids = built.ids[CLIP]
    built.store.set_labels(ids, 3, annotator="someone else")
    window.set_store(built.store)
    assert [f.code for f in window.strip_model.frames()] == [None, None]
    assert "blind" in window.annotator_label.text()
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_5)
    assert [f.code for f in window.strip_model.frames()] == [5, None]
    assert codes(built.store, annotator="someone else") == [3, 3]
    assert codes(built.store, annotator="tester") == [5, None]
