"""Expression proposals in the window, driven by keys as an annotator would (issue 17): the
propose job, the faint code on the thumbnails, P / Shift+P (the rest of the shot) to accept,
the whole clip from the menu, undo of an accepted batch, filters and sorts by proposal, the blind pass hiding them, the disagreement queue (D)
and the model's tab in the agreement panel."""

from __future__ import annotations

import pytest
from proposal_helpers import PHOTOS, make_aligned_project
from PySide6.QtCore import Qt

from feasstm_gui.core.store import proposals as sp


@pytest.fixture
def proposed(window, cjk_dir, qtbot):
    """The window on a project of the real aligned test faces, proposed by the bundled model
    through the window's own action."""
    store, ids = make_aligned_project(cjk_dir / "项目 提议")
    window.set_store(store)
    with qtbot.waitSignal(window.runner.finished, timeout=60000) as blocker:
        window.actions["proposals.run"].trigger()
    assert blocker.args[0].error is None
    assert sp.proposed_count(store) == len(PHOTOS)
    yield window, store, ids


def _labels(store, who="tester") -> dict[int, int]:
    return dict(store._query("SELECT frame_id, code FROM labels WHERE annotator=?", (who,)))


def _row(window, fid: int) -> int:
    return window.strip_model.row_of(fid)


def test_accept_keys_label_from_proposals_and_undo_takes_the_batch_back(proposed, qtbot):
    window, store, ids = proposed
    obama = ids["c1/obama"]
    props = sp.proposals_for(store)
    # the faint code is there for every thumbnail
    rows = window.strip_model.frames()
    assert all(window.proposals.get(r) == (props[r.id].code, props[r.id].p) for r in rows)

    window.strip.go_to_row(_row(window, obama))
    qtbot.keyClick(window.strip, Qt.Key.Key_P)
    assert _labels(store) == {obama: 4}
    assert sp.accepted_for(store) == {obama: {"tester": 4}}
    assert window.strip.current_frame().id != obama  # moved on, like a label key

    window.strip.go_to_row(0)
    qtbot.keyClick(window.strip, Qt.Key.Key_5)  # one typed by hand
    typed = window.strip_model.frames()[0].id
    qtbot.keyClick(window.strip, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    labels = _labels(store)
    assert labels == {f: (5 if f == typed else props[f].code) for f in ids.values()}
    assert set(sp.accepted_for(store)) == set(ids.values()) - {typed}
    step = store.can_undo("tester")
    assert step.description == f"accept {len(PHOTOS) - 2} proposals"
    # the edit log says which labels were accepted proposals
    logged = store._query("SELECT COUNT(*) FROM edits WHERE op='proposal_accept' AND batch=?",
                          (step.batch,))[0][0]
    assert logged == len(PHOTOS) - 2

    qtbot.keyClick(window.strip, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _labels(store) == {obama: 4, typed: 5}
    assert set(sp.accepted_for(store)) == {obama}
    assert [r.code for r in window.strip_model.frames() if r.id not in (obama, typed)] == \
        [None] * (len(PHOTOS) - 2)


def test_filters_and_sorts_by_proposal(proposed, qtbot):
    window, store, ids = proposed
    props = sp.proposals_for(store)
    obama = ids["c1/obama"]
    window.strip.go_to_row(_row(window, obama))
    qtbot.keyClick(window.strip, Qt.Key.Key_7)  # differs from the proposal (4)
    window.filter_bar.set_filter("proposal:differs")
    assert [r.id for r in window.strip_model.visible_frames()] == [obama]
    window.filter_bar.set_filter("proposal:code:4")
    assert {r.id for r in window.strip_model.visible_frames()} == {
        f for f, p in props.items() if p.code == 4}
    window.filter_bar.set_filter("all")
    window.filter_bar.set_sort("proposal_p", descending=True)
    shown = [props[r.id].p for r in window.strip_model.visible_frames()]
    assert shown == sorted(shown, reverse=True)


def test_a_blind_pass_hides_proposals_unless_the_project_shows_them(proposed, qtbot):
    window, store, ids = proposed
    store.set_blind(True)
    window.reload_clip(keep=False)
    window.proposals.refresh()
    assert all(window.proposals.get(r) is None for r in window.strip_model.frames())
    window.strip.go_to_row(0)
    qtbot.keyClick(window.strip, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert _labels(store) == {}
    assert "hidden in a blind pass" in window.statusBar().currentMessage()

    from feasstm_gui.core import project_settings as ps

    ps.apply(store, {"proposals.in_blind_pass": "shown"})
    window.proposals.refresh()
    assert all(window.proposals.get(r) is not None for r in window.strip_model.frames())
    qtbot.keyClick(window.strip, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert len(_labels(store)) == len(PHOTOS)


def test_the_disagreement_queue_goes_most_confident_first(proposed, qtbot):
    window, store, ids = proposed
    props = sp.proposals_for(store)
    obama, astro, biden = ids["c1/obama"], ids["c1/astronaut"], ids["c1/biden"]
    store.set_labels([obama], 7)  # the model says Happy with p > 0.99: a confident disagreement
    store.set_labels([astro], 1)  # also Happy with p > 0.99
    store.set_labels([biden], 5, annotator="bob")  # annotators differ
    store.set_labels([biden], 7)
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_D)
    assert window.tabs.currentIndex() == 1
    queue = [r.id for r in window.review_model.frames()]
    assert set(queue) == {obama, astro, biden} and queue[-1] == biden
    assert queue[:2] == sorted([obama, astro], key=lambda f: -props[f].p)
    assert window.review.current_frame().id == queue[0]
    qtbot.keyClick(window.review, Qt.Key.Key_D)
    assert window.review.current_frame().id == queue[1]
    qtbot.keyClick(window.review, Qt.Key.Key_D)
    assert window.review.current_frame().id == biden
    assert "annotators differ" in window.statusBar().currentMessage()


def test_the_agreement_panel_shows_the_model_as_an_annotator(proposed, qtbot):
    window, store, ids = proposed
    sp.accept_proposals(store, list(ids.values()))
    store.set_labels(list(ids.values()), 4, annotator="bob")
    from feasstm_gui.ui.agreement_panel import AgreementPanel

    panel = AgreementPanel(store, window)
    qtbot.addWidget(panel)
    if panel.result is None:  # the annotators' statistics: computed on a worker thread
        with qtbot.waitSignal(panel.computed, timeout=60000):
            pass
    tab = panel.model_tab
    names = [tab.table.item(i, 0).text() for i in range(tab.table.rowCount())]
    assert names == ["bob", "tester", "final labels"]
    assert tab.table.item(1, 2).text() == "100.0 %" and tab.table.item(1, 3).text() == "1.000"
    n_happy = sum(1 for p in sp.proposals_for(store).values() if p.code == 4)
    assert tab.table.item(0, 2).text() == f"{100 * n_happy / len(PHOTOS):.1f} %"
    tab.table.setCurrentCell(1, 0)
    assert tab.matrix.item(3, 3).text() == str(n_happy)


def test_the_export_dialog_writes_the_label_distribution_when_asked(cjk_dir, qtbot):
    from feasstm_gui.ui.export_dialog import ExportDialog

    store, ids = make_aligned_project(cjk_dir / "项目 导出")
    dlg = ExportDialog(store)
    qtbot.addWidget(dlg)
    assert dlg.options().label_distribution is False
    dlg.show()
    qtbot.mouseClick(dlg.distribution_check, Qt.MouseButton.LeftButton,
                     pos=dlg.distribution_check.rect().center())
    assert dlg.options().label_distribution is True
    dlg.close()
    store.close()


def test_shift_p_stops_at_the_scene_cut_and_the_menu_takes_the_whole_clip(window, cjk_dir,
                                                                          qtbot):
    store, ids = make_aligned_project(cjk_dir / "项目 镜头", clips={"c1": list(PHOTOS) * 2})
    with store.transaction():  # a cut after the 6th frame: its source index jumps by 1000
        store._conn.execute("UPDATE frames SET frame_index = frame_index + 1000 "
                            "WHERE frame_index >= 6")
    window.set_store(store)
    with qtbot.waitSignal(window.runner.finished, timeout=60000):
        window.actions["proposals.run"].trigger()
    frames = window.strip_model.frames()
    window.strip.go_to_row(2)
    qtbot.keyClick(window.strip, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert set(_labels(store)) == {f.id for f in frames[2:6]}  # up to the cut
    assert window.strip.current_frame().id == frames[6].id  # on to the next shot
    assert "rest of the shot" in window.statusBar().currentMessage()
    window.actions["proposals.accept_clip"].trigger()
    assert set(_labels(store)) == {f.id for f in frames}
    store.undo("tester")
    assert set(_labels(store)) == {f.id for f in frames[2:6]}
