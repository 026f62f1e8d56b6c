"""File > Project settings, driven from the keyboard; the values land in the project."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QDoubleSpinBox

from feasstm_gui.core import project_settings as ps
from feasstm_gui.core.store import Store
from feasstm_gui.ui.settings_dialog import ProjectSettingsDialog


def test_settings_dialog_changes_the_project(window, cjk_dir, qtbot):
    store = Store.create(cjk_dir / "项目 设置", annotator="tester")
    window.set_store(store)
    result: dict = {}

    def drive():
        dlg = QApplication.activeModalWidget()
        try:
            assert isinstance(dlg, ProjectSettingsDialog)
            # keys go to the dialog once it is the active window (until then the focus and
            # the strip's arrow keys are still the main window's; on a loaded machine 50 ms
            # is not always enough)
            dlg.activateWindow()
            qtbot.waitUntil(lambda: QApplication.activeWindow() is dlg, timeout=5000)
            preset = dlg.widgets["align.preset"]
            fps = dlg.widgets["extract.fps"]
            assert isinstance(preset, QComboBox) and isinstance(fps, QDoubleSpinBox)
            assert fps.text() == "every frame"  # none is shown as what it means
            preset.setFocus()
            qtbot.keyClick(preset, Qt.Key.Key_Down)  # emotion_fan -> arcface
            fps.setFocus()
            fps.selectAll()
            qtbot.keyClicks(fps, "10")
            device = dlg.widgets["align.detector.device"]
            device.setFocus()
            device.lineEdit().selectAll()
            qtbot.keyClicks(device.lineEdit(), "gpu")
            qtbot.keyClick(device, Qt.Key.Key_Return)  # OK: refused, the dialog stays
            result["error"] = dlg.error.text()
            result["open"] = dlg.isVisible()
            result["preset_then"] = store.param("align.preset")
            device.lineEdit().selectAll()
            qtbot.keyClicks(device.lineEdit(), "cpu")
            qtbot.keyClick(device, Qt.Key.Key_Return)
        finally:
            if dlg is not None and dlg.isVisible():
                dlg.reject()

    QTimer.singleShot(50, drive)
    window.actions["file.settings"].trigger()
    assert "align.detector.device must be auto, cpu, cuda or cuda:N" in result["error"]
    assert result["open"] and result["preset_then"] == "emotion_fan"
    values = ps.current(store)
    assert values["align.preset"] == "arcface"
    assert values["extract.fps"] == 10
    assert values["align.detector.device"] == "cpu"
    assert values["align.size"] == 100 and values["align.margin"] is None  # untouched
    assert "Project settings changed" in window.statusBar().currentMessage()


def test_settings_dialog_shows_the_projects_values_and_none(window, cjk_dir, qtbot):
    store = Store.create(cjk_dir / "项目 二", annotator="tester")
    ps.apply(store, {"align.margin": 0.1, "quality.thresholds.max_yaw": 30})
    dlg = ProjectSettingsDialog(store, window)
    qtbot.addWidget(dlg)
    assert dlg.widgets["align.margin"].value() == 0.1
    assert dlg.widgets["quality.thresholds.max_yaw"].value() == 30
    assert dlg.values()["extract.fps"] is None
    margin = dlg.widgets["align.margin"]
    margin.setValue(margin.minimum())  # back to "the template's own"
    assert margin.text() == "the template's own"
    dlg.accept()
    assert store.param("align.margin") is None
    assert [s.key for s, _, _ in dlg.changes] == ["align.margin"]
    store.close()
