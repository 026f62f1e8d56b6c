"""Agreement panel: per-group statistics, reasons instead of NaN, figures, the report."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from feasstm_gui.core.store import Clip, Store
from feasstm_gui.core.store import ratings as rdb
from feasstm_gui.ui.agreement_panel import NULL, AgreementPanel, open_agreement_panel

SCORES = {  # group -> clip -> rater -> score
    "A": {"甲1": {"r1": 4, "r2": 5, "r3": 4}, "甲2": {"r1": 2, "r2": 2, "r3": 1},
          "甲3": {"r1": 3, "r2": 4, "r3": 3}, "甲4": {"r1": 5, "r2": 5, "r3": 4}},
    "B": {"乙1": {"r4": 1, "r5": 2}, "乙2": {"r4": 4, "r5": 4}, "乙3": {"r4": 3, "r5": 2}},
}


def rate_all(store: Store, scores: dict) -> None:
    """Completed ratings straight into the store (the picks do not matter to the statistics)."""
    for group, clips in scores.items():
        for clip, by_rater in clips.items():
            store.add_clip(Clip(clip, actor="演员", group=group))
            for rater, score in by_rater.items():
                rdb.set_rater(store, rater, group)
                rdb.import_rating(store, clip, rater, score, "描述", None, "test")
                rdb.mark_completed_imported(store, clip, rater, True, "test")


@pytest.fixture
def store(cjk_dir):
    s = Store.create(cjk_dir / "项目", annotator="tester")
    yield s
    s.close()


def cell(table, row_name, column_title):
    rows = [table.verticalHeaderItem(i).text() for i in range(table.rowCount())]
    cols = [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())]
    return table.item(rows.index(row_name), cols.index(column_title))


def test_per_group_statistics_and_the_one_way_icc_across_groups(qtbot, store, cjk_dir):
    rate_all(store, SCORES)
    panel = AgreementPanel(store)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
    table = panel.score_table
    assert [table.verticalHeaderItem(i).text() for i in range(3)] == [
        "group A", "group B", "across groups"]
    assert cell(table, "group A", "targets").text() == "4"
    assert cell(table, "group A", "raters").text() == "3"
    assert cell(table, "group A", "ICC(2,1)").text() != NULL
    assert cell(table, "group A", "Kendall's W").text() != NULL
    across = cell(table, "across groups", "ICC(2,1)")
    assert across.text() == NULL and "different rater sets" in across.toolTip()
    # 3 ratings per clip in A, 2 in B: no balanced one-way ICC either, and the panel says why
    icc1 = cell(table, "across groups", "ICC(1)")
    assert icc1.text() == NULL and "same number of ratings" in icc1.toolTip()
    assert "nan" not in panel.score_notes.toPlainText().lower()
    assert "group 'B' has 2" not in panel.problems.toPlainText()
    assert panel.score_figures.count() == 3  # two figures and the stretch
    model = panel.totals.model()
    totals = {model.index(i, 0).data(): model.index(i, 4).data() for i in range(model.rowCount())}
    assert totals["甲1"] == "13" and model.index(0, 3).data() == "3/3"
    report = panel.write_report(cjk_dir / "报告")
    assert report is not None and report.is_file()


def test_fewer_than_two_raters_says_why(qtbot, store):
    rate_all(store, {"A": {"甲1": {"r1": 4}, "甲2": {"r1": 2}}})
    panel = open_agreement_panel(None, store)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
    assert cell(panel.score_table, "group A", "ICC(2,1)").text() == NULL
    assert "at least two raters" in panel.score_notes.toPlainText()
    assert "group 'A' has 1 rater(s) (r1)" in panel.problems.toPlainText()
    assert panel.totals.model().index(0, 4).data() == "4"  # one rater: complete with one


def test_label_agreement_of_several_annotators(qtbot, store):
    store.add_clip(Clip("片段", actor="演员", group="A"))
    f = store.add_frames("片段", [(i, None, None, None) for i in range(6)])
    store.set_labels(f, 4, annotator="甲")
    store.set_labels(f[:3], 4, annotator="乙")
    store.set_labels(f[3:], 6, annotator="乙")
    store.set_labels(f[:2], 1, annotator="甲")
    panel = AgreementPanel(store)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
    assert cell(panel.label_table, "all", "targets").text() == "6"
    assert cell(panel.label_table, "all", "Fleiss' kappa").text() != NULL
    assert panel.label_figures.count() == 3  # distribution, one confusion matrix, stretch
    assert "No completed ratings yet." in panel.score_notes.toPlainText()


def test_nothing_to_compute(qtbot, store):
    panel = AgreementPanel(store)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: "Nothing to compute yet" in panel.status.text(), timeout=60_000)
    assert panel.score_table.rowCount() == 0


def test_keys_switch_tabs_and_the_notes_read_as_words(qtbot, store):
    """issue 20: Ctrl+Tab switches the panel's tabs wherever the focus is; the notes say
    'cannot be computed', not 'null' or '(see groups)'; the figures stand one under the other
    so the right one is not cut off."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QVBoxLayout

    rate_all(store, SCORES)
    panel = AgreementPanel(store)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
    notes = panel.score_notes.toPlainText()
    assert notes and "null" not in notes and "(see groups)" not in notes
    assert "cannot be computed" in notes
    assert isinstance(panel.score_figures, QVBoxLayout)
    panel.score_table.setFocus()
    assert panel.tabs.currentIndex() == 0
    qtbot.keyClick(panel.score_table, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert panel.tabs.currentIndex() == 1
    qtbot.keyClick(panel.focusWidget() or panel, Qt.Key.Key_Backtab,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert panel.tabs.currentIndex() == 0
    panel.score_notes.setFocus()
    qtbot.keyClick(panel.score_notes, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert panel.tabs.currentIndex() == 1


def test_the_panel_shows_at_once_and_fills_in_as_the_job_reads(qtbot, store):
    """issue 19: nothing is read on the window's thread when the panel opens (the model's tab
    included); the totals, then the model's tab, then the statistics come from the job."""
    rate_all(store, SCORES)
    store.add_clip(Clip("片段", actor="演员", group="A"))
    f = store.add_frames("片段", [(i, None, None, None) for i in range(4)])
    store.set_labels(f, 4, annotator="甲")
    store.set_labels(f, 4, annotator="乙")
    panel = AgreementPanel(store)
    qtbot.addWidget(panel)
    assert panel.status.text().startswith("Reading the ratings and labels")
    assert panel.model_tab.title.text() == "Reading the model's proposals…"
    assert panel.totals.model().rowCount() == 0
    qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
    assert panel.model_tab.title.text() == "No proposals yet: run Faces > Propose expressions."
    totals = panel.totals.model()
    assert totals.rowCount() == len(store.clips())
    assert [totals.headerData(j, Qt.Orientation.Horizontal) for j in range(5)] == [
        "clip", "actor", "group", "rated", "total"]
    assert cell(panel.label_table, "all", "targets").text() == "4"
    assert "label(s) by several annotators" in panel.status.text()
