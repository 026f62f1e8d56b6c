"""The export dialog: choose the options, see what will be written, export with progress and cancel.

Thin over core: `plan_export` gives the counts per split and code (a dry run, redone whenever an
option changes), `export_dataset` is the job, run off the GUI thread by the one JobRunner. The
export is atomic, so a cancel leaves nothing under the chosen name.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.dataset.export import (
    ExportOptions,
    ExportPlan,
    ProjectSnapshot,
    export_dataset,
    plan_export,
    read_project,
)
from feasstm_gui.core.dataset.split import SPLITS
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Store
from feasstm_gui.core.vocab import CODES
from feasstm_gui.ui.workers import JobOutcome, JobRunner

FORMAT_CHOICES = (("FEASSTM-FAF (faces/, annotations/, train.txt, test.txt)", "faf"),
                  ("Emotion-FAN (one folder per run of equal codes)", "emotion-fan"))
SPLIT_CHOICES = (("whole clips", "clip"), ("whole actors", "actor"))


class ExportDialog(QDialog):
    """Export the project; shows the plan before writing anything."""

    def __init__(self, store: Store, parent: QWidget | None = None,
                 runner: JobRunner | None = None):
        super().__init__(parent)
        self.store = store
        self.plan: ExportPlan | None = None
        self.plan_error = ""
        self._snapshot: ProjectSnapshot | None = None
        # the window's one runner (one job at a time), or the dialog's own without a window
        self.runner = runner or JobRunner(self)
        self._exporting = False
        self._close_when_done = False
        self.setWindowTitle(f"Export {store.name}")
        self._build()
        self.runner.progressed.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self._replan_timer = QTimer(self)
        self._replan_timer.setSingleShot(True)
        self._replan_timer.setInterval(150)
        self._replan_timer.timeout.connect(self.refresh_plan)
        self.refresh_plan()

    # -- widgets ------------------------------------------------------------------------------

    def _build(self) -> None:
        form = QFormLayout()
        self.out_edit = QLineEdit(str(self.store.folder.parent / f"{self.store.folder.name}-export"))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_out)
        form.addRow("Export folder", _row(self.out_edit, browse))
        self.format_box = QComboBox()
        for text, value in FORMAT_CHOICES:
            self.format_box.addItem(text, value)
        form.addRow("Format", self.format_box)
        self.split_by_box = QComboBox()
        for text, value in SPLIT_CHOICES:
            self.split_by_box.addItem(text, value)
        form.addRow("Split by", self.split_by_box)
        self.fraction_spin = QDoubleSpinBox()
        self.fraction_spin.setRange(0.0, 1.0)
        self.fraction_spin.setSingleStep(0.05)
        self.fraction_spin.setDecimals(3)
        self.fraction_spin.setValue(0.2)
        form.addRow("Test fraction (of images)", self.fraction_spin)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        form.addRow("Seed", self.seed_spin)
        self.stratify_check = QCheckBox("Balance the expression codes across the splits")
        form.addRow("", self.stratify_check)
        self.split_file_edit = QLineEdit()
        self.split_file_edit.setPlaceholderText("optional CSV clip,split: fixes the split")
        split_browse = QPushButton("Choose…")
        split_browse.clicked.connect(self._choose_split_file)
        form.addRow("Split file", _row(self.split_file_edit, split_browse))
        self.min_run_spin = QSpinBox()
        self.min_run_spin.setRange(1, 100000)
        form.addRow("Shortest run (Emotion-FAN)", self.min_run_spin)
        self.unlabelled_check = QCheckBox("Include unlabelled frames (code 0, unlabelled.txt)")
        self.videos_check = QCheckBox("Include the clip videos (videos/)")
        self.force_check = QCheckBox("Replace the export folder if it exists")
        for box in (self.unlabelled_check, self.videos_check, self.force_check):
            form.addRow("", box)

        self.table = QTableWidget(len(CODES) + 1, len(SPLITS) + 1)
        self.table.setHorizontalHeaderLabels([*SPLITS, "total"])
        self.table.setVerticalHeaderLabels([f"{c} {n}" for c, n in CODES.items()] + ["all"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.problems_view = QPlainTextEdit()
        self.problems_view.setReadOnly(True)
        self.problems_view.setMaximumHeight(90)
        self.problems_view.setPlaceholderText("Problems found while planning appear here")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop the export; nothing is left under the export folder")
        self.cancel_button.clicked.connect(self.cancel_export)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)

        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("What will be written (images per expression code and split):"))
        layout.addWidget(self.table)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.problems_view)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)

        for signal in (self.format_box.currentIndexChanged, self.split_by_box.currentIndexChanged,
                       self.fraction_spin.valueChanged, self.seed_spin.valueChanged,
                       self.stratify_check.toggled, self.split_file_edit.textChanged,
                       self.min_run_spin.valueChanged, self.unlabelled_check.toggled):
            signal.connect(self._schedule_replan)
        self.format_box.currentIndexChanged.connect(self._update_enabled)
        self.split_file_edit.textChanged.connect(self._update_enabled)
        self._update_enabled()

    def _choose_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder to put the export in",
                                                  str(Path(self.out_edit.text()).parent))
        if folder:
            self.out_edit.setText(str(Path(folder) / Path(self.out_edit.text()).name))

    def _choose_split_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Split file (clip,split)", "",
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.split_file_edit.setText(path)

    def _update_enabled(self) -> None:
        fan = self.format_box.currentData() == "emotion-fan"
        self.min_run_spin.setEnabled(fan)
        self.unlabelled_check.setEnabled(not fan)
        by_fraction = not self.split_file_edit.text().strip()
        for w in (self.fraction_spin, self.seed_spin, self.stratify_check):
            w.setEnabled(by_fraction)

    # -- the plan -----------------------------------------------------------------------------

    def options(self) -> ExportOptions:
        split_file = self.split_file_edit.text().strip()
        return ExportOptions(
            split_by=self.split_by_box.currentData(),
            test_fraction=round(self.fraction_spin.value(), 6),
            seed=self.seed_spin.value(),
            stratify=self.stratify_check.isChecked(),
            split_file=Path(split_file) if split_file else None,
            format=self.format_box.currentData(),
            include_unlabelled=self.unlabelled_check.isChecked(),
            with_videos=self.videos_check.isChecked(),
            min_run=self.min_run_spin.value(),
        )

    def _schedule_replan(self) -> None:
        self._replan_timer.start()

    def refresh_plan(self, reread: bool = False) -> None:
        """Plan the export with the options shown (a dry run) and show its counts. The project
        is read once (and again with `reread`); changing an option only plans again."""
        self._replan_timer.stop()
        try:
            if reread or self._snapshot is None:
                self._snapshot = read_project(self.store)
            self.plan = plan_export(self.store, self.options(), snapshot=self._snapshot)
            self.plan_error = ""
        except FeasstmError as exc:
            self.plan, self.plan_error = None, str(exc)
        self._show_plan()

    def _show_plan(self) -> None:
        plan = self.plan
        counts = plan.counts_by_split() if plan else {s: dict.fromkeys(CODES, 0) for s in SPLITS}
        for row, code in enumerate(CODES):
            values = [counts[s][code] for s in SPLITS]
            for col, n in enumerate([*values, sum(values)]):
                self.table.setItem(row, col, _cell(n))
        totals = [sum(counts[s].values()) for s in SPLITS]
        for col, n in enumerate([*totals, sum(totals)]):
            self.table.setItem(len(CODES), col, _cell(n))
        if plan is None:
            self.summary_label.setText("")
            self.problems_view.setPlainText("")
            self._set_status(self.plan_error, error=True)
        else:
            clips = {s: sum(1 for c in plan.clips if plan.split.get(c.id) == s) for s in SPLITS}
            text = (f"Clips: train {clips['train']}, test {clips['test']}. Test fraction reached: "
                    f"{plan.test_fraction_reached():.1%}.")
            unl = sum(1 for i in plan.images if not i.code)
            if unl:
                text += f" Unlabelled images (in no split): {unl}."
            if plan.options.format == "emotion-fan":
                seq = plan.counts()["sequences"]
                text += f" Sequences: train {seq['train']}, test {seq['test']}."
            self.summary_label.setText(text)
            self.problems_view.setPlainText("\n".join(str(p) for p in plan.problems))
            self._set_status("")
        self.export_button.setEnabled(plan is not None and not self.runner.busy)

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #b00020;" if error else "")

    # -- export -------------------------------------------------------------------------------

    def start_export(self) -> bool:
        """Plan again from a fresh read (the project may have changed) and start the job."""
        self.refresh_plan(reread=True)
        out_text = self.out_edit.text().strip()
        if self.plan is None or not out_text:
            if not out_text:
                self._set_status("Choose an export folder first", error=True)
            return False
        out = Path(out_text)
        if out.exists() and not self.force_check.isChecked():
            self._set_status(f"{out} already exists: choose a new name, or tick 'Replace the "
                             "export folder if it exists'", error=True)
            return False
        plan, store, force = self.plan, self.store, self.force_check.isChecked()
        started = self.runner.start(f"Exporting to {out.name}",
                                    lambda: export_dataset(store, out, plan.options, force=force,
                                                           plan=plan))
        if not started:
            self._set_status(f"Wait for '{self.runner.title}' to finish, or cancel it",
                             error=True)
        else:
            self._exporting = True
            self._set_running(True)
            self.progress.setRange(0, 0)
            self._set_status(f"Exporting to {out} …")
        return started

    def cancel_export(self) -> None:
        if self._exporting and self.runner.busy:
            self.cancel_button.setEnabled(False)
            self._set_status("Cancelling…")
            self.runner.cancel()

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.export_button.setEnabled(not running and self.plan is not None)
        self.cancel_button.setEnabled(running)
        for w in self.findChildren(QLineEdit) + self.findChildren(QComboBox) + \
                self.findChildren(QCheckBox) + self.findChildren(QSpinBox) + \
                self.findChildren(QDoubleSpinBox):
            w.setEnabled(not running)
        if not running:
            self._update_enabled()

    def _on_progress(self, progress) -> None:
        if not self._exporting:  # another job on the shared runner
            return
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(min(progress.done, progress.total))
        if progress.problems:
            self.problems_view.appendPlainText("\n".join(str(p) for p in progress.problems))

    def _on_finished(self, outcome: JobOutcome) -> None:
        if not self._exporting:  # another job on the shared runner ended: the way is free
            self.export_button.setEnabled(self.plan is not None)
            return
        self._exporting = False
        self._set_running(False)
        self.last_outcome = outcome
        if outcome.error is not None:
            self._set_status(str(outcome.error) if isinstance(outcome.error, FeasstmError)
                             else f"The export failed: {outcome.error_text.strip().splitlines()[-1]}",
                             error=True)
        elif outcome.cancelled:
            self._set_status("Cancelled: nothing was written under the export folder.")
        else:
            result = outcome.result
            note = (f" {len(result.problems)} problem(s) reported above."
                    if result and result.problems else "")
            self._set_status((result.summary if result else "Exported.") + note)
        if self._close_when_done:
            self.close()

    def _cancel_then_close(self) -> bool:
        """While exporting, closing the dialog cancels the export and closes once it stops."""
        if not self._exporting:
            return False
        self._close_when_done = True
        self.cancel_export()
        return True

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._cancel_then_close():
            event.ignore()
            return
        super().closeEvent(event)

    def reject(self) -> None:  # Escape
        if not self._cancel_then_close():
            super().reject()


def _row(*widgets: QWidget) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(w, 1 if isinstance(w, QLineEdit) else 0)
    return box


def _cell(n: int) -> QTableWidgetItem:
    item = QTableWidgetItem(str(n))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def open_export_dialog(parent: QWidget | None, store: Store,
                       runner: JobRunner | None = None) -> ExportDialog:
    """Show the export dialog for `store` (the main window's Tools > Export… calls this with
    its runner)."""
    dialog = ExportDialog(store, parent, runner)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.raise_()
    return dialog
