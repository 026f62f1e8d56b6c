"""The welcome dialog shown when no project is given: open, new, import a FAF folder, or one
of the recent projects."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from feasstm_gui import __version__


class WelcomeDialog(QDialog):
    """choice after exec(): "open", "new", "import_faf", "recent" (with `path`), or None."""

    def __init__(self, recent: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Welcome to FEASSTM Studio")
        self.choice: str | None = None
        self.path: str | None = None
        title = QLabel(f"<h2>FEASSTM Studio {__version__}</h2>"
                       "<p>Label facial expressions frame by frame, flag the frames to delete, "
                       "and export the FEASSTM dataset.</p>")
        title.setWordWrap(True)
        open_btn = QPushButton("Open project…")
        new_btn = QPushButton("New project…")
        faf_btn = QPushButton("Import FAF folder…")
        faf_btn.setToolTip("Continue curating a FEASSTM-FAF folder made by hand: one folder of "
                           "images per clip with its TXT of labels")
        open_btn.clicked.connect(lambda: self._choose("open"))
        new_btn.clicked.connect(lambda: self._choose("new"))
        faf_btn.clicked.connect(lambda: self._choose("import_faf"))
        buttons = QHBoxLayout()
        for b in (open_btn, new_btn, faf_btn):
            buttons.addWidget(b)
        self.recent = QListWidget()
        for p in recent:
            item = QListWidgetItem(Path(p).name + "  —  " + p)
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            if not Path(p).is_dir():
                item.setText(item.text() + "  (not found)")
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.recent.addItem(item)
        self.recent.itemActivated.connect(self._recent)
        self.recent.itemDoubleClicked.connect(self._recent)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("Recent projects (double-click to open):" if recent else
                                "No recent projects yet."))
        layout.addWidget(self.recent, 1)
        self.resize(560, 380)

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()

    def _recent(self, item: QListWidgetItem) -> None:
        self.choice = "recent"
        self.path = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
