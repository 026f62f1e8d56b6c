"""Adjudication: the frames several annotators labelled differently, resolved with keys.

Each row is one disagreement (not deleted, not irrelevant frames): the crop, the clip and frame,
every annotator's code. Keys (by default; they are actions of the ADJUDICATION scope in
ui/actions.py, remappable in the keymap editor): 1-7 choose the final code and move to the next
row, 0 / Delete clears an adjudication, arrows (and j / k) move, Ctrl+Z / Ctrl+Shift+Z undo /
redo. The final label is then the adjudicated code (DATASET.md, "Frame states").

The dialog also switches the blind labelling pass on and off (each annotator sees only their
own labels while it is on: store.set_blind).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import ratings as rdb
from feasstm_gui.core.store.ratings import Disagreement
from feasstm_gui.core.vocab import CODES, code_name
from feasstm_gui.ui import actions as act
from feasstm_gui.ui.thumbs import Failed, ImageLoader

RESOLVED_COLOR = QColor("#d5f5e3")
_FIXED_COLUMNS = ("face", "clip", "frame")


class AdjudicationDialog(QDialog):
    """Lists the disagreements and resolves them with keys."""

    def __init__(self, store: Store, parent: QWidget | None = None,
                 keymap: act.Keymap | None = None):
        super().__init__(parent)
        self.store = store
        self.keys = act.ScopedKeys(keymap or act.Keymap(None), act.ADJUDICATION)
        self.images = ImageLoader(max_bytes=16 << 20, max_side=220, threads=1, parent=self)
        self.images.ready.connect(self._on_image)
        self.setWindowTitle("Adjudication of label disagreements")
        self.resize(1000, 700)
        self.rows: list[Disagreement] = []
        self.annotators: list[str] = []

        self.summary = QLabel()
        self.show_resolved = QCheckBox("Show resolved")
        self.show_resolved.toggled.connect(lambda _: self.refresh())
        self.blind = QCheckBox("Blind labelling pass (each annotator sees only their own labels)")
        self.blind.setChecked(self.store.param("labelling.blind", False) is True)
        self.blind.toggled.connect(self._on_blind)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.show_resolved)

        self.table = QTableWidget()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(64, 64))
        self.table.verticalHeader().setDefaultSectionSize(70)
        self.table.installEventFilter(self)
        self.table.currentCellChanged.connect(lambda *_: self._show_current())

        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedSize(220, 220)
        self.detail = QLabel(wordWrap=True)
        side = QVBoxLayout()
        side.addWidget(self.preview)
        side.addWidget(self.detail)
        side.addWidget(QLabel("Keys: " + "; ".join(
            f"{' / '.join(act.display_keys(self.keys.keymap.keys(spec.id)))} "
            f"{spec.title.replace('Final label ', '').lower()}" for spec in self.keys.specs
            if self.keys.keymap.keys(spec.id)), wordWrap=True))
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.table, 1)
        middle.addLayout(side)

        self.message = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.blind)
        layout.addLayout(middle, 1)
        layout.addWidget(self.message)
        self.refresh()

    # -- contents ----------------------------------------------------------------------------

    def refresh(self, keep_row: int | None = None) -> None:
        """Reread the disagreements from the store; stay near `keep_row`."""
        row = self.table.currentRow() if keep_row is None else keep_row
        self.rows = rdb.disagreements(self.store, include_resolved=self.show_resolved.isChecked())
        self.annotators = sorted({a for d in self.rows for a in d.labels})
        columns = [*_FIXED_COLUMNS, *self.annotators, "final"]
        self.table.blockSignals(True)
        self.table.clear()
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(self.rows))
        for i, d in enumerate(self.rows):
            self._fill_row(i, d)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.blockSignals(False)
        if self.rows:
            self.table.setCurrentCell(max(0, min(row, len(self.rows) - 1)), 0)
        left = sum(d.adjudicated is None for d in self.rows)
        self.summary.setText(f"{left} disagreement(s) to resolve"
                             + (f", {len(self.rows) - left} resolved" if self.show_resolved
                                .isChecked() else ""))
        self._show_current()

    def _fill_row(self, i: int, d: Disagreement) -> None:
        face = QTableWidgetItem()
        if d.crop:
            face.setIcon(QIcon(str(self.store.folder / d.crop)))
        self.table.setItem(i, 0, face)
        self.table.setItem(i, 1, QTableWidgetItem(d.clip))
        self.table.setItem(i, 2, QTableWidgetItem(str(d.frame_index)))
        for j, who in enumerate(self.annotators):
            code = d.labels.get(who)
            self.table.setItem(i, 3 + j, QTableWidgetItem(
                f"{code} {code_name(code)}" if code else ""))
        final = QTableWidgetItem(f"{d.adjudicated} {code_name(d.adjudicated)}"
                                 if d.adjudicated else "")
        self.table.setItem(i, 3 + len(self.annotators), final)
        if d.adjudicated:
            for col in range(self.table.columnCount()):
                self.table.item(i, col).setBackground(QBrush(RESOLVED_COLOR))

    def current(self) -> Disagreement | None:
        row = self.table.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _show_current(self) -> None:
        d = self.current()
        if d is None:
            self.preview.clear()
            self.detail.setText("No disagreements." if not self.rows else "")
            return
        self._paint_preview(d)
        labels = "; ".join(f"{who}: {code} {code_name(code)}" for who, code in d.labels.items())
        final = f"final: {d.adjudicated} {code_name(d.adjudicated)}" if d.adjudicated else \
            "not resolved"
        self.detail.setText(f"{d.clip}, frame {d.frame_index}\n{labels}\n{final}")

    def _crop_path(self, d: Disagreement) -> str:
        return str(self.store.folder / d.crop) if d.crop else ""

    def _paint_preview(self, d: Disagreement) -> None:
        """The crop, decoded off the GUI thread (until then the previous one stays up)."""
        path = self._crop_path(d)
        loaded = self.images.get(path) if path else Failed("no crop")
        if loaded is None:
            return
        if isinstance(loaded, Failed):
            self.preview.setPixmap(QPixmap())
            self.preview.setText("no face crop")
        else:
            self.preview.setPixmap(loaded.pixmap.scaled(self.preview.size(),
                                                        Qt.AspectRatioMode.KeepAspectRatio))

    def _on_image(self, path: str) -> None:
        d = self.current()
        if d is not None and self._crop_path(d) == path:
            self._paint_preview(d)

    # -- edits -------------------------------------------------------------------------------

    def adjudicate(self, code: int | None) -> None:
        """Resolve the current row (None clears) and move on to the next unresolved one."""
        d = self.current()
        if d is None:
            return
        row = self.table.currentRow()
        try:
            self.store.adjudicate([d.frame_id], code)
        except FeasstmError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"{d.clip} frame {d.frame_index}: "
                             + (f"final label {code} {CODES[code]}" if code else "cleared"))
        # Hidden once resolved: the next row moves up into this place.
        resolved_hidden = code is not None and not self.show_resolved.isChecked()
        self.refresh(keep_row=row if resolved_hidden else row + (1 if code else 0))

    def move(self, delta: int) -> None:
        if self.rows:
            row = max(0, min(self.table.currentRow() + delta, len(self.rows) - 1))
            self.table.setCurrentCell(row, 0)

    def undo(self, redo: bool = False) -> None:
        step = self.store.redo() if redo else self.store.undo()
        if step is None:
            self.message.setText(f"Nothing to {'redo' if redo else 'undo'}.")
        else:
            self.message.setText(f"{'Redid' if redo else 'Undid'}: {step.description}")
        self.refresh()

    def _on_blind(self, on: bool) -> None:
        self.store.set_blind(bool(on))
        self.message.setText("Blind labelling pass on: annotators see only their own labels."
                             if on else "Blind labelling pass off.")

    # -- keys --------------------------------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.KeyPress and self.handle_key(event):
            return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def handle_key(self, event: QKeyEvent) -> bool:
        """The key's action in the ADJUDICATION scope of the keymap, if it has one."""
        return self.keys.handle(self, event)


def open_adjudication(parent: QWidget | None, store: Store,
                      keymap: act.Keymap | None = None) -> AdjudicationDialog:
    """Open the adjudication view (non-modal) over `parent`; returns the dialog."""
    dialog = AdjudicationDialog(store, parent, keymap)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
