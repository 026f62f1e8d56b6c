"""File > Project settings: the settings of `core.project_settings`, one widget each, grouped.

The dialog only shows and collects values; checking and writing them is the core's
(`project_settings.apply`, the same as `feasstm params`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core import project_settings as ps
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Store

GROUPS = (("extract.", "Frame extraction"), ("align.detector.", "Face detection"),
          ("align.tracker.", "Following the actor"), ("align.", "Alignment (the crops)"),
          ("quality.", "Suggested deletion reasons"), ("proposals.", "Expression proposals"),
          ("backup.", "Backups"))


def _group_of(key: str) -> str:
    return next(title for prefix, title in GROUPS if key.startswith(prefix))


class ProjectSettingsDialog(QDialog):
    """Every editable setting of the open project; OK writes the changed ones together."""

    def __init__(self, store: Store, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Project settings")
        self.resize(620, 640)
        self.changes: list[tuple[ps.Setting, Any, Any]] = []
        self.stale = 0
        self.widgets: dict[str, QWidget] = {}
        values = ps.current(store)
        outer = QVBoxLayout(self)
        intro = QLabel("Stored in the project and recorded in every export's manifest. Crops "
                       "made before keep the settings they were made with: re-align frames to "
                       "apply new ones.")
        intro.setWordWrap(True)
        outer.addWidget(intro)
        body = QWidget()
        column = QVBoxLayout(body)
        forms: dict[str, QFormLayout] = {}
        for _, title in GROUPS:
            box = QGroupBox(title)
            forms[title] = QFormLayout(box)
            column.addWidget(box)
        for s in ps.SETTINGS:
            widget = self._widget(s, values[s.key])
            widget.setObjectName(s.key)
            widget.setToolTip(f"{s.key}: {s.describe_range()}"
                              + (f"\n{s.help}" if s.help else ""))
            self.widgets[s.key] = widget
            forms[_group_of(s.key)].addRow(s.title, widget)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer.addWidget(scroll)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        outer.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        if store.read_only:
            buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            self.error.setText("The project is open read-only: the settings cannot be changed.")

    # -- widgets

    @staticmethod
    def _widget(s: ps.Setting, value: Any) -> QWidget:
        if s.kind in ("choice", "device"):
            combo = QComboBox()
            items = list(s.choices) if s.kind == "choice" else ["auto", "cpu", "cuda"]
            if value is not None and str(value) not in items:
                items.append(str(value))
            combo.addItems(items)
            combo.setEditable(s.kind == "device")
            combo.setCurrentText(str(value))
            return combo
        if s.kind == "int":
            spin = QSpinBox()
            spin.setRange(int(s.lo), int(min(s.hi, 2**31 - 1)))
            spin.setValue(int(value))
            return spin
        spin = QDoubleSpinBox()
        span = (s.hi or 1.0) - (s.lo or 0.0)
        spin.setDecimals(3 if span <= 10 else 1)
        spin.setSingleStep(0.05 if span <= 1 else (0.5 if span <= 100 else 1.0))
        low = float(s.lo)
        if s.none_means is not None:  # one step below the range stands for none
            low -= spin.singleStep()
            spin.setSpecialValueText(s.none_means)
        spin.setRange(low, float(s.hi))
        spin.setValue(low if value is None else float(value))
        return spin

    def values(self) -> dict[str, Any]:
        """The values shown, as the core takes them (None where 'none' is shown)."""
        out: dict[str, Any] = {}
        for s in ps.SETTINGS:
            w = self.widgets[s.key]
            if isinstance(w, QComboBox):
                out[s.key] = w.currentText().strip()
            elif isinstance(w, QSpinBox):
                out[s.key] = w.value()
            else:
                special = s.none_means is not None and w.value() <= w.minimum() + 1e-9
                out[s.key] = None if special else round(w.value(), w.decimals())
        return out

    # -- OK

    def accept(self) -> None:
        try:
            self.changes = ps.apply(self.store, self.values())
            self.stale = ps.faces_affected(self.store, self.changes)
        except FeasstmError as exc:
            self.error.setText(str(exc))  # stay open: nothing was written
            return
        super().accept()

    def summary(self) -> str:
        if not self.changes:
            return "Project settings: nothing changed"
        names = ", ".join(f"{s.title.lower()} {s.show(new)}" for s, _, new in self.changes[:3])
        more = f" and {len(self.changes) - 3} more" if len(self.changes) > 3 else ""
        text = f"Project settings changed: {names}{more}"
        if self.stale:
            text += (f". {self.stale} frames keep crops made with the old settings until "
                     "re-aligned")
        return text


def open_project_settings(window, store: Store) -> None:
    dlg = ProjectSettingsDialog(store, window)
    if dlg.exec() == QDialog.DialogCode.Accepted:
        window.statusBar().showMessage(dlg.summary(), 10000)
