"""File > Restore backup…: a backup taken while the project is open, restored from the window."""

from __future__ import annotations

from conftest import FrameSpec
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

CLIP = "片段 一"


def test_restore_a_backup_taken_while_open_from_the_window(window, make_project, qtbot,
                                                           monkeypatch):
    built = make_project({CLIP: [FrameSpec() for _ in range(6)]})
    folder = built.folder
    built.store.set_params({"backup.every_edits": 3, "backup.min_interval_s": 3600})
    window.set_store(built.store)
    strip = window.strip
    strip.setFocus()
    qtbot.waitUntil(lambda: window.strip_model.rowCount() == 6)
    for key in (Qt.Key.Key_4, Qt.Key.Key_5, Qt.Key.Key_6):  # the third edit starts a backup
        qtbot.keyClick(strip, key)
    window.store.wait_for_backup()
    [backup] = [b for b in window.store.backups() if b.name.endswith("-auto.sqlite")]
    for key in (Qt.Key.Key_7, Qt.Key.Key_1):
        qtbot.keyClick(strip, key)
    assert [f.code for f in window.store.frames(CLIP)] == [4, 5, 6, 7, 1, None]

    action = window.actions["file.restore"]
    assert action.isEnabled() and action in window.menus["File"].actions()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(backup), ""))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    action.trigger()
    assert window.store is not None and window.store.folder == folder
    assert [f.code for f in window.store.frames(CLIP)] == [4, 5, 6, None, None, None]
    assert window.store.integrity_check() == []
    qtbot.waitUntil(lambda: window.strip_model.rowCount() == 6)
    assert [f.code for f in window.strip_model.frames()] == [4, 5, 6, None, None, None]
    # the database replaced was kept as a backup
    assert any(b.name.endswith("-before-restore.sqlite") for b in window.store.backups())
