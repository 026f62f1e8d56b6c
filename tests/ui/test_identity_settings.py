"""The tracker's identity parameters (issue 15) in File > Project settings: shown with their
defaults, typed into, written to the project."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox

from feasstm_gui.core import project_settings as ps
from feasstm_gui.core.store import Store
from feasstm_gui.ui.settings_dialog import ProjectSettingsDialog


def test_identity_margin_is_edited_in_the_settings_dialog(cjk_dir, qtbot):
    store = Store.create(cjk_dir / "项目 身份 设置", annotator="tester")
    try:
        dlg = ProjectSettingsDialog(store)
        qtbot.addWidget(dlg)
        dlg.show()
        margin = dlg.widgets["align.tracker.identity_margin"]
        assert isinstance(margin, QDoubleSpinBox) and margin.value() == 0.15
        assert "align.tracker.identity_settled" in dlg.widgets
        margin.setFocus()
        margin.selectAll()
        qtbot.keyClicks(margin, "0.08")
        qtbot.keyClick(margin, Qt.Key.Key_Return)  # OK
        assert not dlg.isVisible(), dlg.error.text()
        assert ps.current(store)["align.tracker.identity_margin"] == 0.08
        assert store.param("align.tracker")["identity_margin"] == 0.08
        assert [s.key for s, _, _ in dlg.changes] == ["align.tracker.identity_margin"]
    finally:
        store.close()
