"""Rating mode on a team's server project (issue 16) follows the other sessions without a
reload, as the annotator views do: a rating made on another workstation shows in the dialog
showing that rater, the queue's marks and progress follow, clips put in the group elsewhere
join the queue; a rater's own dialog stays blind to the others' ratings. Needs PostgreSQL (the
throw-away cluster of tests/pgcluster.py)."""

from __future__ import annotations

from projects import make_project
from PySide6.QtCore import Qt

from feasstm_gui.core.store import Store
from feasstm_gui.core.store import ratings as rdb
from feasstm_gui.ui.rating_mode import open_rating_mode

C1, C2 = "片段 甲", "片段 乙"


def _checked(dialog) -> int | None:
    button = dialog.score_group.checkedButton()
    return dialog.score_group.id(button) if button is not None else None


def _queue(dialog) -> list[str]:
    return [dialog.queue.item(i).text() for i in range(dialog.queue.count())]


def test_rating_mode_follows_another_raters_session(window, cjk_dir, pg_url, qtbot):
    store = make_project(cjk_dir / "团队 项目", {C1: ("演员 一", "A"), C2: ("演员 二", "B")},
                         n_frames=6, server=pg_url)
    rdb.set_rater(store, "r1", "A")
    rdb.set_rater(store, "评分员 二", "A")
    folder = store.folder
    store.close()
    window.set_store(Store.open(folder, annotator="researcher"))
    assert window.live.listener is not None and window.live.listener.connected
    # the researcher's rating mode, showing rater 评分员 二; rater r1's blind one beside it
    window.tools.open_rating()
    shown = window.tools.opened["rating"]
    shown.rater_box.setCurrentText("评分员 二")
    assert shown.clip == C1 and _checked(shown) is None and _queue(shown) == [f"· {C1}"]
    blind = open_rating_mode(window, window.store, rater="r1")
    qtbot.addWidget(blind)

    other = Store.open(folder, annotator="评分员 二")  # the rater, on another workstation
    try:
        rdb.set_score(other, C1, "评分员 二", 4)
        rdb.set_description(other, C1, "评分员 二", "眉毛上扬, 自然")
        qtbot.waitUntil(lambda: _checked(shown) == 4, timeout=2000)
        qtbot.waitUntil(lambda: shown.description.toPlainText() == "眉毛上扬, 自然",
                        timeout=2000)
        assert _queue(shown) == [f"… {C1}"]
        # blind: rater r1's dialog shows nothing of it
        assert _checked(blind) is None and blind.description.toPlainText() == ""

        # a clip put in group A elsewhere joins both queues; the clip shown stays
        rdb.set_clip_groups(other, {C2: "A"})
        qtbot.waitUntil(lambda: _queue(shown) == [f"… {C1}", f"· {C2}"], timeout=2000)
        qtbot.waitUntil(lambda: _queue(blind) == [f"· {C1}", f"· {C2}"], timeout=2000)
        assert shown.clip == C1 and blind.clip == C1
        assert "0 of 2 clips rated" in shown.progress_label.text()

        # a description being typed in the dialog is not overwritten by a change arriving
        shown.description.setFocus()
        qtbot.keyClick(shown.description, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(shown.description, "!")
        rdb.set_score(other, C1, "评分员 二", 2)
        qtbot.waitUntil(lambda: _checked(shown) == 2, timeout=2000)
        assert shown.description.toPlainText().endswith("!")
        shown.commit_description()
        assert rdb.rating(other, C1, "评分员 二").description.endswith("!")

        # an undo made in the other session shows too (the rater's last step: the description
        # committed here, in the rater's name)
        assert other.undo("评分员 二").description == f"describe {C1}"
        qtbot.waitUntil(lambda: shown.description.toPlainText() == "眉毛上扬, 自然",
                        timeout=2000)

        # the clip shown taken out of the group elsewhere: the queue's first clip is shown
        rdb.set_clip_groups(other, {C1: "B"})
        qtbot.waitUntil(lambda: _queue(shown) == [f"· {C2}"], timeout=2000)
        assert shown.clip == C2 and _checked(shown) is None
        assert shown.description.toPlainText() == ""
    finally:
        other.close()
