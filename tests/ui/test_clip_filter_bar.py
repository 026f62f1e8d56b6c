"""The clip list's filter bar (issue 19), driven by keys as an annotator would: Ctrl+Shift+F
finds a clip as you type (Chinese names too), Esc clears, Down goes to the list, Return opens
the first clip; the work, actor, group and state lists filter; counts arrive off the window's
thread and labelling moves them."""

from __future__ import annotations

from conftest import FrameSpec
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

CLIPS = {
    "王 片段 01": [FrameSpec(code=3), FrameSpec(code=3)],  # done
    "王 片段 02": [FrameSpec(code=4), FrameSpec()],  # in progress
    "李 片段 03": [FrameSpec(), FrameSpec()],  # unlabelled
    "Li clip 04": [FrameSpec(code=5), FrameSpec(reasons=("blur",))],  # done, flagged
}
META = {"王 片段 01": ("作品 甲", "王", "A"), "王 片段 02": ("作品 甲", "王", "B"),
        "李 片段 03": ("作品 乙", "李", "A"), "Li clip 04": ("作品 乙", "Li", "B")}


def shown(window) -> list[str]:
    m = window.clip_model
    return [m.index(r).data() for r in range(m.rowCount())]


def type_text(widget, text: str) -> None:
    """Keys typed one at a time, as a keyboard or an input method sends them."""
    for ch in text:
        key = ord(ch.upper()) if ch.isascii() and ch.isalnum() else Qt.Key.Key_unknown
        if ch == " ":
            key = Qt.Key.Key_Space
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier,
                                                     ch))


def open_project(window, make_project, qtbot):
    built = make_project(CLIPS, meta=META)
    window.set_store(built.store)
    qtbot.waitUntil(lambda: not window.clip_list.filler.running, timeout=20000)
    return built


def test_search_as_you_type_esc_down_return(window, make_project, qtbot):
    open_project(window, make_project, qtbot)
    bar = window.clip_list.bar
    assert shown(window) == list(CLIPS)
    assert bar.count.text() == "4 clips"
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert bar.search.hasFocus()
    type_text(bar.search, "片段")
    assert shown(window) == ["王 片段 01", "王 片段 02", "李 片段 03"]
    assert bar.count.text() == "3 of 4 clips"
    type_text(bar.search, " 0")
    assert shown(window) == ["王 片段 01", "王 片段 02", "李 片段 03"]
    type_text(bar.search, "2")
    assert shown(window) == ["王 片段 02"]
    qtbot.keyClick(bar.search, Qt.Key.Key_Backspace)
    qtbot.keyClick(bar.search, Qt.Key.Key_3)
    assert shown(window) == ["李 片段 03"]
    # Return opens the first clip shown, and the strip takes the keys
    qtbot.keyClick(bar.search, Qt.Key.Key_Return)
    assert window.clip_id == "李 片段 03"
    assert window.strip.hasFocus()
    # any case, ASCII names
    qtbot.keyClick(window.strip, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    type_text(bar.search, "LI CL")
    assert shown(window) == ["Li clip 04"]
    # Down: the list; Down again there moves nowhere (one clip); Return from the list too
    qtbot.keyClick(bar.search, Qt.Key.Key_Down)
    assert window.clip_view.hasFocus()
    assert window.clip_id == "Li clip 04"
    # Esc clears the search (every clip again, the current one still selected), a second
    # Esc goes back to the strip
    window.clip_list.focus_search()
    qtbot.keyClick(bar.search, Qt.Key.Key_Escape)
    assert bar.search.text() == "" and shown(window) == list(CLIPS)
    assert window.clip_view.currentIndex().data() == "Li clip 04"
    qtbot.keyClick(bar.search, Qt.Key.Key_Escape)
    assert window.strip.hasFocus()
    type_text(bar.search, "")  # nothing typed: nothing changes
    assert shown(window) == list(CLIPS)
    type_text(bar.search, "[(*.?\\%_'")  # no pattern syntax: plain text, found nowhere
    assert shown(window) == [] and bar.count.text() == "0 of 4 clips"
    qtbot.keyClick(bar.search, Qt.Key.Key_Escape)
    type_text(bar.search, "片" * 5000)
    assert shown(window) == []


def test_filters_by_work_actor_group_and_state(window, make_project, qtbot):
    built = open_project(window, make_project, qtbot)
    bar = window.clip_list.bar
    assert [bar.work.itemText(i) for i in range(bar.work.count())] == [
        "Any work", "作品 乙", "作品 甲"]

    def choose(box, text):
        # keyboard: focus the list and type the start of the item (as a user would)
        box.setFocus()
        i = box.findText(text)
        assert i >= 0, text
        while box.currentIndex() != i:
            qtbot.keyClick(box, Qt.Key.Key_Down if box.currentIndex() < i else Qt.Key.Key_Up)

    choose(bar.work, "作品 乙")
    assert shown(window) == ["李 片段 03", "Li clip 04"]
    choose(bar.group, "B")
    assert shown(window) == ["Li clip 04"]
    choose(bar.work, "Any work")
    assert shown(window) == ["王 片段 02", "Li clip 04"]
    choose(bar.actor, "王")
    assert shown(window) == ["王 片段 02"]
    choose(bar.actor, "Any actor")
    choose(bar.group, "Any group")
    choose(bar.state, "Done")
    assert shown(window) == ["王 片段 01", "Li clip 04"]
    choose(bar.state, "In progress")
    assert shown(window) == ["王 片段 02"]
    choose(bar.state, "Unlabelled")
    assert shown(window) == ["李 片段 03"]
    choose(bar.state, "Flagged (deleted frames or open suggestions)")
    assert shown(window) == ["Li clip 04"]

    # labelling the rest of clip 02 makes it done: the counts move with the key press, and the
    # state filter follows when it is applied again
    choose(bar.state, "Any state")
    window.set_clip("王 片段 02")
    window.strip.setFocus()
    window.strip.go_to_row(1)
    qtbot.keyClick(window.strip, Qt.Key.Key_6)
    s = window.clip_model.summary("王 片段 02")
    assert (s.labelled, s.todo) == (2, 0)
    assert built.store.frames("王 片段 02")[1].code == 6
    choose(bar.state, "Done")
    assert shown(window) == ["王 片段 01", "王 片段 02", "Li clip 04"]
    # the strip still shows the clip when the filter hides it
    choose(bar.state, "Unlabelled")
    assert shown(window) == ["李 片段 03"] and window.clip_id == "王 片段 02"
    assert window.strip_model.rowCount() == 2


def test_counts_arrive_off_the_window_thread_on_screen_first(window, make_project, qtbot):
    built = make_project(CLIPS, meta=META)
    window.set_store(built.store)
    model = window.clip_model
    # a clip whose counts are asked for before the filler reached it: read at once
    s = model.summary("Li clip 04")
    assert (s.total, s.labelled, s.flagged) == (2, 1, 1)
    qtbot.waitUntil(lambda: not window.clip_list.filler.running, timeout=20000)
    assert set(model.known()) == set(CLIPS)
    assert model.known()["王 片段 02"].todo == 1
    qtbot.waitUntil(lambda: "project: 4 labelled · 1 deleted · 8 frames"
                    in window.status_info.counts_label.text(), timeout=5000)


def test_review_grid_reads_a_page_then_more_at_the_end(window, make_project, qtbot, monkeypatch):
    from feasstm_gui.ui import review_pages

    monkeypatch.setattr(review_pages, "PAGE", 2)
    monkeypatch.setattr(review_pages, "MORE_PAGES", 1)
    clips = {f"片段 {c}": [FrameSpec(code=3) for _ in range(3)] for c in range(3)}
    built = make_project(clips)
    window.set_store(built.store)
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    window.review_bar.set_query(code=3)
    model = window.review_model

    def shown_frames():
        return [(f.clip, f.frame_index) for f in model.frames()]

    assert shown_frames() == [("片段 0", 0), ("片段 0", 1)]
    assert "2 frames so far" in window.review_bar.count.text()
    pager = window.review_pages
    assert pager.more_button.isEnabled()
    qtbot.mouseClick(pager.more_button, Qt.MouseButton.LeftButton)
    assert shown_frames() == [("片段 0", 0), ("片段 0", 1), ("片段 0", 2), ("片段 1", 0)]
    while pager.more_available:
        qtbot.mouseClick(pager.more_button, Qt.MouseButton.LeftButton)
    assert shown_frames() == [(c, i) for c in clips for i in range(3)]
    assert window.review_bar.count.text() == "9 frames"
    assert not pager.more_button.isEnabled()
    # relabelling there is an edit of the store, as before
    window.review.setFocus()
    window.review.go_to_row(8)
    qtbot.keyClick(window.review, Qt.Key.Key_5)
    assert built.store.frames("片段 2")[2].code == 5


def test_a_search_lists_the_first_clips_at_once_and_the_rest_when_typing_pauses(
        window, make_project, qtbot, monkeypatch):
    """issue 19: a key typed lists what the screen shows (here FIRST_ROWS = 1) and the rest
    when the typing pauses; the count says all the clips kept meanwhile, typing further
    narrows all of them, and the list's keys and the current clip see every row."""
    from feasstm_gui.ui import clip_list

    monkeypatch.setattr(clip_list, "FIRST_ROWS", 1)
    open_project(window, make_project, qtbot)
    bar, model, view = window.clip_list.bar, window.clip_model, window.clip_view
    view.setCurrentIndex(model.index(0))  # 王 片段 01
    assert window.clip_id == "王 片段 01"
    window.clip_list.focus_search()
    type_text(bar.search, "片段")
    assert model.rowCount() == 1 and model.shown_count() == 3  # the rest: in a moment
    assert bar.count.text() == "3 of 4 clips"
    assert view.currentIndex().data() == "王 片段 01"
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=5000)
    assert shown(window) == ["王 片段 01", "王 片段 02", "李 片段 03"]
    assert view.currentIndex().data() == "王 片段 01" and window.clip_id == "王 片段 01"
    # typing further while the rest is not listed yet narrows every clip kept, not the listed
    qtbot.keyClick(bar.search, Qt.Key.Key_Escape)
    type_text(bar.search, "片段")
    type_text(bar.search, " 03")
    assert shown(window) == ["李 片段 03"] and bar.count.text() == "1 of 4 clips"
    # the current clip further down than the rows listed: all are listed, it stays selected
    qtbot.keyClick(bar.search, Qt.Key.Key_Return)
    assert window.clip_id == "李 片段 03"
    window.clip_list.focus_search()
    qtbot.keyClick(bar.search, Qt.Key.Key_Escape)
    assert model.shown_count() == 4 and model.rowCount() == 4
    assert view.currentIndex().data() == "李 片段 03"
    type_text(bar.search, "片段")
    assert model.rowCount() == 3 and view.currentIndex().data() == "李 片段 03"
    # Down to the list: its keys move through every clip kept, at once
    qtbot.keyClick(bar.search, Qt.Key.Key_Escape)
    type_text(bar.search, "片段")
    qtbot.keyClick(bar.search, Qt.Key.Key_Down)
    assert view.hasFocus() and model.rowCount() == 3
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert window.clip_id == "李 片段 03"


def test_next_clip_just_after_a_search_reaches_the_clips_not_listed_yet(
        window, make_project, qtbot, monkeypatch):
    """The next-clip key pressed before the rest of a search is listed goes on to the next
    clip kept, not nowhere (it stopped at the last row listed)."""
    from feasstm_gui.ui import clip_list

    monkeypatch.setattr(clip_list, "FIRST_ROWS", 1)
    open_project(window, make_project, qtbot)
    bar, model, view = window.clip_list.bar, window.clip_model, window.clip_view
    view.setCurrentIndex(model.index(0))
    window.clip_list.focus_search()
    type_text(bar.search, "片段")
    assert model.rowCount() == 1 and window.clip_id == "王 片段 01"
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_BracketRight)
    assert window.clip_id == "王 片段 02"
    qtbot.keyClick(window.strip, Qt.Key.Key_BracketRight)
    qtbot.keyClick(window.strip, Qt.Key.Key_BracketRight)
    assert window.clip_id == "李 片段 03"  # the last clip the search keeps


def test_rows_found_by_bisection_equal_a_table_of_them(qtbot):
    """ClipListModel.row_of on the rows a filter keeps (ascending: bisection), and on rows
    in another order (a table), for every clip."""
    from feasstm_gui.core.store import Clip
    from feasstm_gui.ui.clips import ClipListModel

    model = ClipListModel()
    clips = [Clip(f"片段 {i:03d}") for i in range(50)]
    model.set_clips(clips, {}, set())
    for rows in ([], [0], [3, 4, 9, 20, 49], list(range(0, 50, 7)), [9, 3, 40, 1]):
        model.set_rows(list(rows))
        want = {clips[p].id: r for r, p in enumerate(rows)}
        assert {c.id: model.row_of(c.id) for c in clips} == \
            {c.id: want.get(c.id) for c in clips}, rows
        assert [model.index(r).data() for r in range(model.rowCount())] == \
            [clips[p].id for p in rows]
    assert model.row_of("no such clip") is None


def test_the_count_line_never_widens_the_dock_or_moves_the_strip(window, make_project, qtbot):
    """issue 19: the count under the filters changes at every key and every chunk of counts
    read; its width does not count, so the window is not laid out again (nor the frame strip
    repainted) each time."""
    open_project(window, make_project, qtbot)
    window.show()
    qtbot.waitExposed(window)
    bar = window.clip_list.bar
    dock, strip = window.clips_dock.width(), window.strip.geometry()
    bar.count.setText("16,000 of 16,000 clips · counting 16,000 " * 10)
    QApplication.processEvents()
    assert window.clips_dock.width() == dock and window.strip.geometry() == strip
