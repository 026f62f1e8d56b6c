"""Agreement panel: how well the raters agree, per group, with the report's own figures.

The statistics come from core/ratings/agreement.py (ICC(2,1), ICC(2,k), ICC(3,k) and Kendall's W within
each group, where the raters are the same for every clip; across groups the one-way ICC(1), or
null with the reason) and the figures from core/ratings/report.py, rendered with matplotlib's Agg canvas
to PNG and shown as images. A value that cannot be computed shows "—" and the reason (the
statistics' notes), never NaN. pingouin and matplotlib take seconds to import, so the numbers are
computed as a job on the JobRunner (the window's one runner when the panel is opened from it);
the panel stays usable meanwhile.

On a big project (issue 19: 16,000 clips, a million labels) the panel shows at once, empty, and
fills in as the job goes: the totals, the problems and the model's tab as soon as they are read
(the job's progress says so), the statistics when computed. The totals are a table model read
by the view as it paints (16,000 clips: a QTableWidget's items took seconds on the window's
thread).
"""

from __future__ import annotations

import io
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.jobs import JobResult, Progress
from feasstm_gui.core.ratings import asa
from feasstm_gui.core.store import Store
from feasstm_gui.core.store import ratings as rdb
from feasstm_gui.core.store.clip_list import reader_store
from feasstm_gui.ui.workers import JobOutcome, JobRunner

#: (column title, key in the statistics) of the two tables.
SCORE_COLUMNS = (("ICC(2,1)", "icc2_1"), ("ICC(2,k)", "icc2_k"), ("ICC(3,k)", "icc3_k"),
                 ("Kendall's W", "kendall_w"), ("alpha (ordinal)", "alpha"),
                 ("ICC(1)", "icc1"))
LABEL_COLUMNS = (("Fleiss' kappa", "fleiss_kappa"), ("alpha (nominal)", "alpha"))
COUNT_COLUMNS = (("targets", "n_targets"), ("raters", "n_raters"), ("ratings", "n_ratings"))
NULL = "—"
#: At most this many confusion matrices are drawn in the panel (the report has them all).
MAX_CONFUSION_FIGURES = 6


def compute(scores: list[tuple], labels: list[tuple]) -> dict:
    """The statistics and the figures (PNG bytes) for the panel. Runs off the GUI thread."""
    from feasstm_gui.core.ratings.agreement import (
        label_agreement,
        normalise_rows,
        score_agreement,
    )
    from feasstm_gui.core.ratings.report import (
        confusion_figure,
        label_distribution_figure,
        rater_bias_figure,
        save_figure,
        score_distribution_figure,
    )

    def png(figure) -> bytes:
        buf = io.BytesIO()
        save_figure(figure, buf)
        return buf.getvalue()

    out: dict = {"scores": None, "labels": None, "score_figures": [], "label_figures": []}
    # checked once here, not again by each statistic and figure (seconds a time at 1M labels)
    scores, labels = normalise_rows(scores), normalise_rows(labels)
    if scores:
        out["scores"] = score_agreement(scores)
        out["score_figures"] = [png(score_distribution_figure(scores)),
                                png(rater_bias_figure(scores))]
    if labels:
        result = label_agreement(labels)
        out["labels"] = result
        pairs = list(result.get("confusion_matrices") or [])
        out["label_figures"] = [png(label_distribution_figure(labels))] + [
            png(confusion_figure(p)) for p in pairs[:MAX_CONFUSION_FIGURES]]
    return out


def compute_job(scores: list[tuple], labels: list[tuple], out: dict):
    """`compute` as a job for the JobRunner: the statistics land in `out` (or out["error"])."""
    yield Progress(0, 1, "computing the agreement statistics")
    try:
        out.update(compute(scores, labels))
    except FeasstmError as exc:
        out["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - shown to the user in the panel, not swallowed
        out["error"] = f"the statistics could not be computed: {exc!r}"
    return JobResult(done=1)


#: The job's progress messages once out["read"] / out["model"] are in (the panel shows them).
READ_DONE = "read; reading the model's proposals"
MODEL_DONE = "computing the agreement statistics"


def read_and_compute_job(store: Store, out: dict):
    """Read the ratings and the labels (seconds on a project of a million labels: issue 19),
    then compute: all of it off the GUI thread, so the panel shows at once. What was read
    lands in out["read"], the model against the annotators in out["model"] ((result, name):
    sp.model_agreement_of), each followed by a progress the panel takes it at;
    out["nothing"] when there is nothing to compute."""
    from feasstm_gui.core.store.proposals import model_agreement_of

    yield Progress(0, 3, "reading the ratings and labels")
    reader, owned = reader_store(store)  # its own connection: the window keeps the store's
    try:
        scores = asa.score_rows(reader)
        every = rdb.label_rows(reader)
        labels = every if len({who for _, who, _ in every}) >= 2 else []
        out["read"] = {"scores": scores, "labels": labels, "totals": asa.totals(reader),
                       "problems": asa.check_ratings(reader)}
        yield Progress(1, 3, READ_DONE)
        out["model"] = model_agreement_of(reader, every)
    finally:
        if owned:
            reader.close()
    yield Progress(2, 3, MODEL_DONE)
    if not scores and not labels:
        out["nothing"] = True
        return JobResult(done=1)
    return (yield from compute_job(scores, labels, out))


class TotalsModel(QAbstractTableModel):
    """Each clip's total (asa.ClipTotal), read by the view as it paints its rows."""

    HEADERS = ("clip", "actor", "group", "rated", "total")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._totals: list[asa.ClipTotal] = []

    def set_totals(self, totals: list[asa.ClipTotal]) -> None:
        self.beginResetModel()
        self._totals = list(totals)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self._totals)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self.HEADERS)

    def text(self, row: int, column: int) -> str:
        t = self._totals[row]
        return (t.clip, t.actor, t.group or "(none)", f"{t.n_raters}/{t.group_raters}",
                str(t.total) if t.complete else "incomplete")[column]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        return self.text(index.row(), index.column())

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return str(section + 1)


def format_value(result: dict, key: str) -> str:
    value = result.get(key)
    if value is None:
        return NULL
    text = f"{value:.3f}"
    ci = result.get(f"{key}_ci95")
    return text + (f"  [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


#: The statistics' notes are written for the CLI's JSON; the panel says the same in words.
_PLAIN = ((" are null", " cannot be computed"), (" is null", " cannot be computed"),
          ("(see groups)", "(in the rows per group above)"), ("; see groups", "; see the rows "
          "per group above"), (" (icc1)", ""), ("null with a reason", "no value, with the reason"))


def plain(note: str) -> str:
    """A statistics note in an annotator's words (no 'null', no JSON keys)."""
    for old, new in _PLAIN:
        note = note.replace(old, new)
    return note[:1].upper() + note[1:]


def notes_of(result: dict | None) -> list[str]:
    """Every note in plain words, the groups' prefixed with their group."""
    if not result:
        return []
    notes = [plain(n) for n in result.get("notes", [])]
    for group, sub in (result.get("groups") or {}).items():
        notes += [f"Group {group}: {plain(n)}" for n in sub.get("notes", [])]
    return notes


class AgreementPanel(QDialog):
    """Per-group agreement of the acting scores and agreement of the expression labels."""

    computed = Signal()

    def __init__(self, store: Store, parent: QWidget | None = None,
                 runner: JobRunner | None = None):
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Rater agreement")
        self.resize(1000, 750)
        self.result: dict | None = None
        self.runner = runner or JobRunner(self)
        self._out: dict | None = None  # what the running computation fills in
        self.runner.finished.connect(self._on_finished)
        self.runner.progressed.connect(self._on_progress)
        self._scores: list[tuple] = []
        self._labels: list[tuple] = []

        self.status = QLabel(wordWrap=True)
        self.problems = QPlainTextEdit(readOnly=True)
        self.problems.setStyleSheet("color: #a04000")
        self.problems.setMaximumHeight(80)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.report_button = QPushButton("Write report…")
        self.report_button.clicked.connect(self._ask_report)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.report_button)

        self.tabs = QTabWidget()
        self.score_table, self.score_notes, self.score_figures = self._tab("Acting scores")
        self.label_table, self.label_notes, self.label_figures = self._tab("Expression labels")
        self.totals_model = TotalsModel(self)
        self.totals = QTableView()
        self.totals.setModel(self.totals_model)
        self.totals.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        # the column widths from the first rows, not from 16,000 clips
        self.totals.horizontalHeader().setResizeContentsPrecision(200)
        self.totals.verticalHeader().setDefaultSectionSize(
            self.totals.verticalHeader().minimumSectionSize() + 6)
        self.tabs.addTab(self.totals, "Totals")
        from feasstm_gui.ui.proposals import ModelAgreementTab  # issue 17: the model's tab

        self.model_tab = ModelAgreementTab(store, load=False)  # read on the worker (refresh)
        self.tabs.addTab(self.model_tab, "Model vs annotators")
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.problems)
        layout.addWidget(self.tabs, 1)
        for keys, step in (("Ctrl+Tab", 1), ("Ctrl+PgDown", 1), ("Ctrl+Shift+Tab", -1),
                           ("Ctrl+PgUp", -1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda s=step: self.step_tab(s))
        self.refresh()

    def step_tab(self, step: int) -> None:
        """Ctrl+Tab / Ctrl+Shift+Tab: the next / previous tab, wherever the focus is."""
        self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % self.tabs.count())

    def _tab(self, title: str) -> tuple[QTableWidget, QPlainTextEdit, QVBoxLayout]:
        table = QTableWidget()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        notes = QPlainTextEdit(readOnly=True)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(table, 1)
        top_layout.addWidget(QLabel("Why a value is missing, and what was computed:"))
        top_layout.addWidget(notes, 1)
        figures = QWidget()
        # one figure under the other: side by side, the right one was cut off by the panel
        fig_layout = QVBoxLayout(figures)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(figures)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(scroll)
        split.setSizes([300, 450])
        self.tabs.addTab(split, title)
        return table, notes, fig_layout

    # -- computing ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the ratings and labels and compute, on a worker thread (read_and_compute_job):
        the panel shows at once, whatever the project's size."""
        out: dict = {}
        store = self.store
        if not self.runner.start("Agreement statistics",
                                 lambda: read_and_compute_job(store, out)):
            self.status.setText(f"Wait for '{self.runner.title}' to finish, then Refresh.")
            return
        self._out = out
        self.status.setText("Reading the ratings and labels, then computing the statistics…")
        self.refresh_button.setEnabled(False)

    def _take_read(self, out: dict) -> None:
        """Show what the job has read so far (each part once): the totals and the problems,
        then the model's tab."""
        read = out.get("read")
        if read is not None and not out.get("read_shown"):
            out["read_shown"] = True
            self._scores, self._labels = read["scores"], read["labels"]
            self._fill_totals(read["totals"])
            self.problems.setPlainText("\n".join(read["problems"]))
            self.problems.setVisible(bool(read["problems"]))
        model = out.get("model")
        if model is not None and not out.get("model_shown"):
            out["model_shown"] = True
            self.model_tab.show_result(*model)

    def _on_progress(self, progress: Progress) -> None:
        out = self._out
        if out is None:  # another job on the shared runner
            return
        self._take_read(out)
        read = out.get("read")
        if progress.message == MODEL_DONE and read and (read["scores"] or read["labels"]):
            self.status.setText(f"Computing the statistics: {len(read['scores']):,} score(s), "
                                f"{len(read['labels']):,} label(s) by several annotators…")

    def _on_finished(self, outcome: JobOutcome) -> None:
        out, self._out = self._out, None
        if out is None:  # another job on the shared runner
            return
        self._take_read(out)
        if out.get("nothing") and outcome.error is None and not outcome.cancelled:
            self.refresh_button.setEnabled(True)
            self.result = {"scores": None, "labels": None, "score_figures": [],
                           "label_figures": []}
            self._show()
            self.status.setText("Nothing to compute yet: no completed rating by a group's "
                                "rater, and no frame labelled by two or more annotators.")
            self.computed.emit()
            return
        if outcome.error is not None:
            out = {"error": f"the statistics could not be computed: {outcome.error!r}"}
        elif outcome.cancelled:
            out = {"error": "Cancelled: Refresh computes the statistics again."}
        self._on_done(out)

    def _on_done(self, result: dict) -> None:
        self.refresh_button.setEnabled(True)
        if "error" in result:
            self.result = None
            self.status.setText(result["error"])
        else:
            self.result = result
            n = len({(c, r) for c, r, *_ in self._scores})
            self.status.setText(f"{n} completed rating(s) of the groups' raters; "
                                f"{len(self._labels)} label(s) by several annotators.")
            self._show()
        self.computed.emit()

    # -- showing -----------------------------------------------------------------------------

    def _show(self) -> None:
        r = self.result or {}
        self._fill(self.score_table, r.get("scores"), SCORE_COLUMNS, "across groups")
        self._fill(self.label_table, r.get("labels"), LABEL_COLUMNS, "all annotators")
        self.score_notes.setPlainText("\n".join(notes_of(r.get("scores")))
                                      or ("No completed ratings yet." if not r.get("scores")
                                          else ""))
        self.label_notes.setPlainText("\n".join(notes_of(r.get("labels")))
                                      or ("No frame was labelled by two or more annotators."
                                          if not r.get("labels") else ""))
        self._images(self.score_figures, r.get("score_figures", []))
        self._images(self.label_figures, r.get("label_figures", []))

    def _fill(self, table: QTableWidget, result: dict | None, columns, top_name: str) -> None:
        headers = [t for t, _ in COUNT_COLUMNS] + [t for t, _ in columns]
        table.clear()
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        if not result:
            table.setRowCount(0)
            return
        groups = result.get("groups") or {}
        rows = [(f"group {g}", sub) for g, sub in groups.items()]
        rows.append((top_name if groups else "all", result))
        table.setRowCount(len(rows))
        table.setVerticalHeaderLabels([name for name, _ in rows])
        for i, (_, res) in enumerate(rows):
            for j, (_, key) in enumerate(COUNT_COLUMNS):
                table.setItem(i, j, QTableWidgetItem(str(res.get(key, ""))))
            for j, (title, key) in enumerate(columns, start=len(COUNT_COLUMNS)):
                item = QTableWidgetItem(format_value(res, key))
                if res.get(key) is None:
                    why = [n for n in res.get("notes", []) if title.split(" (")[0] in n]
                    item.setToolTip("\n".join(why or res.get("notes", [])))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(i, j, item)
        table.resizeColumnsToContents()

    def _fill_totals(self, totals: list[asa.ClipTotal]) -> None:
        """Each clip's total: the sum of its group's raters' scores, only when all rated."""
        self.totals_model.set_totals(totals)
        self.totals.resizeColumnsToContents()

    @staticmethod
    def _images(layout: QVBoxLayout, pngs: list[bytes]) -> None:
        while layout.count():
            widget = layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for data in pngs:
            label = QLabel()
            pixmap = QPixmap.fromImage(QImage.fromData(data, "PNG"))
            label.setPixmap(pixmap)
            label.setMinimumSize(pixmap.size())
            layout.addWidget(label, 0, Qt.AlignmentFlag.AlignTop)
        layout.addStretch(1)

    # -- the report --------------------------------------------------------------------------

    def _ask_report(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the agreement report")
        if folder:
            self.write_report(Path(folder))

    def write_report(self, folder: Path) -> Path | None:
        """The same report as `feasstm ratings-report` (HTML + PNG) in `folder`."""
        from feasstm_gui.core.ratings.report import write_agreement_report

        try:
            path = write_agreement_report(folder, self._scores or None, self._labels or None,
                                          title=f"Rater agreement: {self.store.name}")
        except FeasstmError as exc:
            self.status.setText(str(exc))
            return None
        self.status.setText(f"Report written: {path}")
        return path


def open_agreement_panel(parent: QWidget | None, store: Store,
                         runner: JobRunner | None = None) -> AgreementPanel:
    """Open the agreement panel (non-modal) over `parent`; returns it."""
    panel = AgreementPanel(store, parent, runner)
    panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    panel.show()
    return panel
