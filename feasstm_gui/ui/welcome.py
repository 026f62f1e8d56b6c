"""The welcome dialog shown when no project is given: the sample project, open, new, import a
FAF folder, or one of the recent projects."""

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
    """choice after exec(): "sample", "open", "new", "import_faf", "recent" (with `path`), or
    None."""

    def __init__(self, recent: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Welcome to FEASSTM Studio")
        self.choice: str | None = None
        self.path: str | None = None
        title = QLabel(f"<h2>FEASSTM Studio {__version__}</h2>"
                       "<p>Label facial expressions frame by frame, flag the frames to delete, "
                       "and export the FEASSTM dataset.</p>")
        title.setWordWrap(True)
        self.sample_btn = QPushButton("Open sample")
        self.sample_btn.setToolTip("Three short clips made from real photographs, extracted and "
                              "aligned here on first use (under a minute), with a few labels "
                              "and a rating: every feature on real faces")
        self.sample_btn.clicked.connect(lambda: self._choose("sample"))
        open_btn = QPushButton("Open project…")
        new_btn = QPushButton("New project…")
        faf_btn = QPushButton("Import FAF folder…")
        faf_btn.setToolTip("Continue curating a FEASSTM-FAF folder made by hand: one folder of "
                           "images per clip with its TXT of labels")
        open_btn.clicked.connect(lambda: self._choose("open"))
        new_btn.clicked.connect(lambda: self._choose("new"))
        faf_btn.clicked.connect(lambda: self._choose("import_faf"))
        buttons = QHBoxLayout()
        for b in (self.sample_btn, open_btn, new_btn, faf_btn):
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


def open_sample(window, folder: str | Path | None = None) -> bool:
    """Open the sample project; build it first (or finish building it) on the window's worker,
    with its progress bar: the same job as `feasstm sample`."""
    from feasstm_gui.sample import (
        create_sample_project,
        default_location,
        is_complete,
        sample_job,
    )
    from feasstm_gui.ui.job_control import JobTarget

    folder = Path(folder) if folder else default_location()
    try:
        if is_complete(folder):
            return window.open_path(folder)
        store = create_sample_project(folder, annotator=window.annotator)
    except Exception as exc:  # noqa: BLE001 - shown to the user as a dialog
        window.report_error(exc)
        return False
    window.set_store(store)
    return window.start_job("Building the sample project (extract and align, under a minute)",
                            lambda: sample_job(store), JobTarget.new_clips())
