"""Opening a project whose database is empty or not a project's: the window says so, with the
way out (`feasstm restore`), and opens nothing (it used to open an empty project silently)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import FrameSpec
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

CLIP = "片段 一"


def _emptied(folder: Path) -> None:
    for side in ("-wal", "-shm"):
        Path(f"{folder / 'project.sqlite'}{side}").unlink(missing_ok=True)
    (folder / "project.sqlite").write_bytes(b"")


def _foreign(folder: Path) -> None:
    _emptied(folder)
    con = sqlite3.connect(folder / "project.sqlite")
    con.execute("CREATE TABLE notes (text TEXT)")
    con.commit()
    con.close()


@pytest.mark.parametrize("spoil, says", [(_emptied, "is empty (0 bytes)"),
                                         (_foreign, "not a FEASSTM project's")])
def test_the_window_refuses_an_empty_or_foreign_database(window, make_project, qtbot,
                                                         monkeypatch, spoil, says):
    built = make_project({CLIP: [FrameSpec() for _ in range(3)]})
    folder = built.folder
    built.store.close()
    spoil(folder)
    before = (folder / "project.sqlite").read_bytes()
    shown: list[str] = []
    monkeypatch.setattr(window, "report_error", lambda exc: shown.append(str(exc)))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(shown))
    assert window.store is None
    [message] = shown
    assert str(folder / "project.sqlite") in message and says in message
    assert "feasstm restore" in message and "frames/" in message
    assert (folder / "project.sqlite").read_bytes() == before  # no schema written into it
