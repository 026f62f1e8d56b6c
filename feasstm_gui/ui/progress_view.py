"""The researcher's progress view (issue 16): the figures of `feasstm progress` as tables.

Tabs: annotators (frames labelled, time spent, frames per hour), per clip and group (the same
per annotator and clip), raters (ratings completed, time, ratings per hour), ASA completion per
rater group. The figures are core/store/progress.py's; how time is counted is said under the
tables. On a server project the view follows the others' edits (ui/live_updates.py's `changed`
signal), at most once every `LIVE_MS`; Refresh (F5) rereads at once.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.store import Store
from feasstm_gui.core.store import progress as prog

#: Live updates reread the figures at most this often (they read the whole edit log).
LIVE_MS = 1000


def _hours(seconds: float) -> str:
    return prog.duration_text(seconds)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _item(value) -> QTableWidgetItem:
    item = QTableWidgetItem()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        item.setData(Qt.ItemDataRole.DisplayRole, value)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    else:
        item.setText(str(value))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


class ProgressDialog(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None, live=None):
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Team progress")
        self.resize(820, 480)
        self.data: dict = {}
        self.tabs = QTabWidget()
        self.tables: dict[str, QTableWidget] = {}
        for key, title in (("annotators", "Annotators"), ("clips", "Per clip and group"),
                           ("raters", "Raters"), ("groups", "ASA completion")):
            table = QTableWidget()
            table.setObjectName(f"progress-{key}")
            table.setSortingEnabled(True)
            table.verticalHeader().hide()
            table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
            self.tables[key] = table
            self.tabs.addTab(table, title)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        QShortcut(QKeySequence("F5"), self, self.refresh)
        bottom = QHBoxLayout()
        bottom.addWidget(self.note, 1)
        bottom.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        self._live = QTimer(self)
        self._live.setSingleShot(True)
        self._live.setInterval(LIVE_MS)
        self._live.timeout.connect(self.refresh)
        if live is not None:
            live.changed.connect(self._on_changed)
            live.connection_changed.connect(self._on_connection)
        self.refresh()

    def _on_changed(self, _changes) -> None:
        if not self._live.isActive():
            self._live.start()

    def _on_connection(self, online: bool, _why: str) -> None:
        self.refresh_button.setEnabled(online)

    def refresh(self) -> None:
        from feasstm_gui.core.errors import FeasstmError
        try:
            self.data = prog.progress(self.store)
        except FeasstmError as exc:
            self.note.setText(f"Cannot read the figures now: {exc}")
            return
        d = self.data
        self._fill("annotators", ["annotator", "frames labelled", "time", "frames/h", "steps"],
                   [[a["name"], a["frames_labelled"], _hours(a["time_s"]), _rate(a["per_hour"]),
                     a["steps"]] for a in d["annotators"]])
        rows = []
        for a in d["annotators"]:
            for g in a["groups"]:
                rows.append([a["name"], f"group {g['group'] or '(none)'}", "", g["frames"], "",
                             _hours(g["time_s"]), _rate(g["per_hour"])])
            for c in a["clips"]:
                rows.append([a["name"], c["clip"], c["group"], c["frames"], c["of"],
                             _hours(c["time_s"]), _rate(c["per_hour"])])
        self._fill("clips", ["annotator", "clip / group", "group", "frames labelled", "of",
                             "time", "frames/h"], rows)
        self._fill("raters", ["rater", "group", "completed", "clips", "time", "ratings/h"],
                   [[r["name"], r["group"], r["completed"], r["clips"], _hours(r["time_s"]),
                     _rate(r["per_hour"])] for r in d["raters"]])
        self._fill("groups", ["group", "clips", "raters", "clips complete", "ratings done",
                              "ratings needed", "completion"],
                   [[g["group"], g["clips"], g["raters"], g["clips_complete"], g["ratings_done"],
                     g["ratings_needed"],
                     "—" if g["completion"] is None else f"{g['completion'] * 100:.1f} %"]
                    for g in d["groups"]])
        self.note.setText(
            f"{d['frames']:,} frames in the project. Time spent is read from the edit log: the "
            f"gaps between a person's steps, each counted up to {d['idle_s']:g} s (a longer "
            "pause is a break).")

    def _fill(self, key: str, columns: list[str], rows: list[list]) -> None:
        table = self.tables[key]
        table.setSortingEnabled(False)
        table.clear()
        table.setColumnCount(len(columns))
        table.setHorizontalHeaderLabels(columns)
        table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                table.setItem(i, j, _item(value))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setSortingEnabled(True)

    def cell(self, key: str, row: int, column: int) -> str:
        """What a table shows (tests read it)."""
        item = self.tables[key].item(row, column)
        return item.text() if item is not None else ""


def open_progress(parent: QWidget | None, store: Store, live=None) -> ProgressDialog:
    """Open the progress view (non-modal) over `parent`; returns it."""
    dialog = ProgressDialog(store, parent, live)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
