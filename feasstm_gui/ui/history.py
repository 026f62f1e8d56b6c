"""The history panel: the recent steps of the project's edit log.

Clicking a step jumps to the first frame it touched; "Undo to here" undoes the annotator's own
steps back to and including the chosen one (through store.undo, so it survives a restart).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.errors import ServerUnavailable
from feasstm_gui.core.store import Store
from feasstm_gui.core.store.views import EditSummary, recent_edits

StepRole = Qt.ItemDataRole.UserRole + 1


class HistoryPanel(QWidget):
    jump = Signal(object)  # EditSummary
    undo_requested = Signal()
    redo_requested = Signal()
    undo_to_requested = Signal(int)  # batch

    LIMIT = 200

    def __init__(self, parent=None):
        super().__init__(parent)
        self.store: Store | None = None
        self.annotator = ""
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        # two short lines per step, wrapped: a narrow dock no longer cuts a step off
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.undo_to_button = QPushButton("Undo to here")
        self.undo_to_button.setToolTip("Undo your steps back to and including the selected one")
        self.undo_button.clicked.connect(self.undo_requested)
        self.redo_button.clicked.connect(self.redo_requested)
        self.undo_to_button.clicked.connect(self._undo_to)
        buttons = QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.redo_button)
        buttons.addWidget(self.undo_to_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.refresh)

    def set_store(self, store: Store | None, annotator: str) -> None:
        self.store = store
        self.annotator = annotator
        self.refresh()

    def schedule_refresh(self) -> None:
        """Refresh soon (several edits in a row cost one query)."""
        self._timer.start()

    def refresh(self) -> None:
        self._timer.stop()
        if self.store is None:
            self.list.clear()
            return
        try:
            steps = recent_edits(self.store, self.LIMIT)
        except ServerUnavailable:  # a team project's server away: the list as it was
            return
        self.list.clear()
        read_only = self.store.read_only
        for step in steps:
            item = QListWidgetItem(_describe(step))
            item.setData(StepRole, step)
            item.setToolTip(f"{_describe(step).replace(chr(10), ' · ')}\nstep {step.batch} by "
                            f"{step.annotator} at {step.at}, state {step.state}")
            if step.state != "done":
                item.setForeground(QBrush(QColor("#888888")))
            self.list.addItem(item)
        self.undo_button.setEnabled(not read_only)
        self.redo_button.setEnabled(not read_only)
        self.undo_to_button.setEnabled(not read_only)

    def steps(self) -> list[EditSummary]:
        return [self.list.item(i).data(StepRole) for i in range(self.list.count())]

    def _clicked(self, item: QListWidgetItem) -> None:
        self.jump.emit(item.data(StepRole))

    def _undo_to(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.undo_to_requested.emit(item.data(StepRole).batch)


def _describe(step: EditSummary) -> str:
    when = step.at[11:19] if len(step.at) >= 19 else step.at
    what = step.description or "edit"
    n = f" · {step.count} change{'s' if step.count != 1 else ''}" if step.frame_id else ""
    where = f" · {step.clip}" if step.clip else ""
    mark = {"undone": " (undone)", "dropped": " (undone)", "log": ""}.get(step.state, "")
    return f"{when} {step.annotator}{mark}\n{what}{n}{where}"
