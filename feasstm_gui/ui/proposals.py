"""Expression proposals in the window: a faint code on each thumbnail, keys that accept them,
filters and sorts by proposal, the disagreement queue, the propose job, and the model's tab in
the agreement panel.

The window keeps one ProposalController (`window.proposals`); its few handlers on the window
delegate here. A proposal is never a label: accepting one writes the annotator's label and a
record that it was an accepted proposal, in one undoable step (core/store/proposals.py). In a
blind pass the proposals are hidden unless the project setting `proposals.in_blind_pass` says
`shown` (they anchor annotators).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.labels import fill
from feasstm_gui.core.store import FrameRow, Store
from feasstm_gui.core.store import proposals as sp
from feasstm_gui.core.vocab import CODES
from feasstm_gui.ui import filters as flt
from feasstm_gui.ui.strip import FrameDelegate

#: The queue's default threshold (project setting proposals.queue_min_p overrides it).
QUEUE_MIN_P = 0.6

# -- filters and sorts by proposal -----------------------------------------------------------------

_active: ProposalController | None = None  # the window's controller (filters read its proposals)


def _proposal(row: FrameRow) -> tuple[int, float] | None:
    return _active.get(row) if _active is not None else None


def _proposal_filter(value: str):
    if value == "any":
        return lambda r: _proposal(r) is not None
    if value == "differs":
        return lambda r: (p := _proposal(r)) is not None and r.code is not None and p[0] != r.code
    if value == "open":  # what "accept the rest" takes: proposed, unlabelled, kept
        return lambda r: (_proposal(r) is not None and r.code is None and not r.reasons
                          and not r.irrelevant)
    kind, _, code = value.partition(":")
    if kind == "code":
        return lambda r: (p := _proposal(r)) is not None and p[0] == int(code)
    raise ValueError(f"unknown proposal filter {value!r}")


def _confidence(row: FrameRow) -> float | None:
    p = _proposal(row)
    return p[1] if p is not None else None


flt.EXTRA_FILTERS["proposal"] = _proposal_filter
flt.EXTRA_SORTS["proposal_p"] = _confidence
flt.FILTERS += [
    flt.FrameFilter("proposal:any", "Proposed (any code)"),
    flt.FrameFilter("proposal:differs", "Proposal differs from the label"),
    flt.FrameFilter("proposal:open", "Proposed, not labelled yet"),
    *[flt.FrameFilter(f"proposal:code:{c}", f"Proposed {c} {n}") for c, n in CODES.items()],
]
flt.SORTS += [
    flt.FrameSort("proposal_p", "Proposal confidence, most sure first", True),
    flt.FrameSort("proposal_p", "Proposal confidence, least sure first"),
]


# -- painting ----------------------------------------------------------------------------------------


class ProposalDelegate(FrameDelegate):
    """The strip's delegate, with the proposal as a faint code in the thumbnail's corner
    (amber where it differs from the label shown)."""

    def __init__(self, parent, controller: ProposalController, thumb: int = 96):
        super().__init__(parent, thumb)
        self.controller = controller
        self._small = QFont()
        self._small.setPixelSize(10)
        self._widths: dict[str, int] = {}  # the overlay's text -> its width (700 at most)

    def paint_overlay(self, p: QPainter, img: QRect, row: FrameRow) -> None:
        # called with the row the strip's paint already has; nothing to do (a dict lookup)
        # where the frame has no proposal or proposals are off
        prop = self.controller.get(row)
        if prop is None:
            return
        code, conf = prop
        text = f"{code}? {round(100 * conf)}%"
        w = self._widths.get(text)
        p.save()
        p.setFont(self._small)
        if w is None:
            w = self._widths[text] = p.fontMetrics().horizontalAdvance(text) + 6
        box = QRect(img.right() - w + 1, img.bottom() - 14, w, 14)
        p.fillRect(box, _SHADE)
        differs = row.code is not None and row.code != code
        p.setPen(_DIFFERS if differs else _SAME)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()


_SHADE = QColor(0, 0, 0, 90)
_DIFFERS = QColor(255, 200, 80, 200)
_SAME = QColor(255, 255, 255, 150)


# -- the controller ----------------------------------------------------------------------------------


class ProposalController(QObject):
    """Everything the window does with proposals (see the module's docstring)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        global _active
        _active = self
        self.window = window
        self._codes: dict[int, tuple[int, float]] = {}  # frame id -> (code, probability)
        self._hidden_clips: set[str] = set()
        self._queue_pos = -1
        self._queue_ids: list[int] = []
        self._queue_items: dict[int, sp.QueueItem] = {}
        self._model = None  # the loaded default model (loading takes a moment)
        for view in (window.strip, window.review):
            delegate = ProposalDelegate(view, self, thumb=view.delegate.thumb)
            view.delegate = delegate
            view.setItemDelegate(delegate)
        window.project_changed.connect(self.refresh)
        window.clip_changed.connect(lambda _c: self.refresh())
        window.runner.finished.connect(lambda _o: self.refresh())
        window.review_model.modelReset.connect(self.refresh)

    # -- what is shown --------------------------------------------------------------------------

    @property
    def store(self) -> Store | None:
        return self.window.store

    def hidden(self, clip_id: str) -> bool:
        """In a blind pass proposals are hidden, unless the project says to show them."""
        store = self.store
        if store is None or not store.is_blind(clip_id):
            return False
        return store.param("proposals.in_blind_pass", "hidden") != "shown"

    def get(self, row: FrameRow) -> tuple[int, float] | None:
        if not self._codes or row.clip in self._hidden_clips:
            return None
        return self._codes.get(row.id)

    def refresh(self) -> None:
        """Read the proposals of the frames the strip and the review grid show."""
        store = self.store
        self._codes = {}
        self._hidden_clips = set()
        if store is None or not sp.has_proposals_table(store):
            return
        review = self.window.review_model.frames()
        clip = self.window.clip_id
        clips = {r.clip for r in review} | ({clip} if clip else set())
        self._hidden_clips = {c for c in clips if self.hidden(c)}
        if clip is not None:
            self._codes = sp.codes_for(store, clip_id=clip)
        if review:
            self._codes.update(sp.codes_for(store, frame_ids=[r.id for r in review]))
        self.window.strip.viewport().update()
        self.window.review.viewport().update()
        key = self.window.filter_bar.current_filter().key
        sort = self.window.filter_bar.current_sort().key
        if key.startswith("proposal:") or sort == "proposal_p":
            self.window._filter_changed(self.window.filter_bar.current_filter(),
                                        self.window.filter_bar.current_sort())

    # -- accepting ------------------------------------------------------------------------------

    def shot(self, start: int) -> list[FrameRow]:
        """The strip's frames (frame order) from position `start` up to the next scene cut
        (core/labels/fill.is_cut: a jump in frame index, or a tracker reset), as fill forward
        stops."""
        from feasstm_gui.core.store import views

        rows = self.window.strip_model.frames()
        if not 0 <= start < len(rows):
            return []
        step = fill.typical_step(rows)
        out = [rows[start]]
        i = start + 1
        while i < len(rows):
            end = min(len(rows), i + 256)
            marks = views.track_marks(self.store, [r.id for r in rows[i - 1:end]])
            while i < end:
                if fill.is_cut(rows[i - 1], rows[i], step, marks.get(rows[i - 1].id),
                               marks.get(rows[i].id)):
                    return out
                out.append(rows[i])
                i += 1
        return out

    def accept(self, scope: str | bool = "selection") -> int:
        """Accept the proposals of the selected frames ("selection"), of the frames from the
        current one to the next scene cut that are not labelled yet ("shot"; True means the
        same), or of every such frame of the clip ("clip"). One undo step. Returns the number
        of frames labelled."""
        w = self.window
        if self.store is None:
            return 0
        scope = "shot" if scope is True else ("selection" if scope is False else scope)
        rest = scope != "selection"
        status = w.statusBar()
        if scope == "clip":
            view, frames = w.strip, w.strip_model.frames()
        elif scope == "shot":
            view = w.strip
            current = w.strip.current_frame()
            start = w.strip_model.position_of(current.id) if current is not None else None
            frames = self.shot(start) if start is not None else []
        else:
            view = w.active_view()
            frames = view.selected_frames()
        if not frames:
            status.showMessage("Select the frames whose proposals you accept first", 4000)
            return 0
        if all(f.clip in self._hidden_clips for f in frames):
            status.showMessage("Proposals are hidden in a blind pass (project setting "
                               "'Expression proposals in a blind pass')", 5000)
            return 0
        ids = [f.id for f in frames if f.clip not in self._hidden_clips and f.id in self._codes]
        if not ids:
            status.showMessage("No proposal here: run Faces > Propose expressions first", 5000)
            return 0
        rows = view.selected_rows()
        n = sp.accept_proposals(self.store, ids, annotator=w.annotator, only_unlabelled=rest)
        w.refresh_frames(ids)
        what = {"clip": "the clip", "shot": "the rest of the shot"}.get(scope, "the selection")
        status.showMessage(f"Accepted {n} proposal(s) for {what}" if n else
                           f"Nothing to accept for {what}: every frame is labelled", 3000)
        if n and not rest and rows and rows[-1] + 1 < view.model().rowCount():
            view.go_to_row(rows[-1] + 1)
        elif n and scope == "shot":  # on to the frame after the shot (the next one's start)
            after = w.strip_model.row_of(frames[-1].id)
            if after is not None and after + 1 < w.strip_model.rowCount():
                w.strip.go_to_row(after + 1)
        return n

    # -- the disagreement queue -----------------------------------------------------------------

    def queue(self) -> list[sp.QueueItem]:
        store = self.store
        if store is None:
            return []
        min_p = store.param("proposals.queue_min_p")
        return sp.disagreement_queue(store, min_p=QUEUE_MIN_P if min_p is None else min_p)

    def next_disagreement(self) -> sp.QueueItem | None:
        """Show the disagreement queue in the review grid (most confident proposal first) and
        go to its next frame."""
        w = self.window
        store = self.store
        if store is None:
            return None
        if any(store.is_blind(c.id) for c in w.clip_model.clips()):
            w.statusBar().showMessage("The disagreement queue shows others' labels: it opens "
                                      "after the blind pass", 5000)
            return None
        showing = [r.id for r in w.review_model.frames()]
        if w.tabs.currentIndex() != 1 or showing != self._queue_ids:
            items = self.queue()
            if not items:
                w.statusBar().showMessage("No disagreement: no confident proposal differs from "
                                          "a final label, and the annotators agree", 5000)
                return None
            from feasstm_gui.core.store import views

            rows = views.frames_by_id(store, [q.frame_id for q in items])
            ordered = [rows[q.frame_id] for q in items if q.frame_id in rows]
            self._queue_ids = [r.id for r in ordered]
            self._queue_items = {q.frame_id: q for q in items}
            w.tabs.setCurrentIndex(1)
            w.review_model.set_frames(ordered, str(store.folder))
            w.review_bar.count.setText(f"disagreement queue: {len(ordered):,} frame(s)")
            self._queue_pos = 0
        else:
            self._queue_pos = min(self._queue_pos + 1, len(self._queue_ids) - 1)
            current = w.review.current_frame()
            if current is not None and current.id in self._queue_ids:
                self._queue_pos = min(self._queue_ids.index(current.id) + 1,
                                      len(self._queue_ids) - 1)
        w.review.go_to_row(self._queue_pos)
        w.review.setFocus()
        item = self._queue_items.get(self._queue_ids[self._queue_pos])
        if item is not None:
            labels = ", ".join(f"{who} {c}" for who, c in sorted(item.labels.items()))
            why = (f"model proposes {item.proposed} ({100 * item.confidence:.0f}%), final "
                   f"{item.final}" if item.why == "model" else "annotators differ")
            w.statusBar().showMessage(f"{self._queue_pos + 1} of {len(self._queue_ids)}: "
                                      f"{why}; labels: {labels}", 8000)
        return item

    # -- the job --------------------------------------------------------------------------------

    def propose(self, all_clips: bool = False, model_path: str | Path | None = None) -> bool:
        """Run the propose job on the current clip (or every clip) on the worker."""
        w = self.window
        store = self.store
        if store is None or (not all_clips and w.clip_id is None):
            return False
        clips = None if all_clips else [w.clip_id]

        def job():
            from feasstm_gui.core.labels.expression_model import load_model
            from feasstm_gui.core.labels.propose import propose

            if model_path is not None:
                model = load_model(model_path)
            else:
                if self._model is None:
                    self._model = load_model()
                model = self._model
            return propose(store, clips, model)

        from feasstm_gui.ui.job_control import JobTarget

        where = "every clip" if all_clips else w.clip_id
        return w.start_job(f"Proposing expressions for {where}", job,
                           None if all_clips else JobTarget.of_clip(w.clip_id))

    def propose_own_model(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Your expression model (ONNX, with its JSON beside it)", "",
            "ONNX models (*.onnx)")
        return bool(path) and self.propose(all_clips=False, model_path=path)


# -- the model in the agreement panel ---------------------------------------------------------------


class ModelAgreementTab(QWidget):
    """The model as one more annotator: against each annotator and the final labels, the share
    of frames they agree on and Cohen's kappa, and the confusion matrix of the chosen row."""

    def __init__(self, store: Store, parent: QWidget | None = None, *, load: bool = True):
        super().__init__(parent)
        self.store = store
        self.result: dict | None = None
        self.title = QLabel(wordWrap=True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.matrix = QTableWidget()
        self.matrix.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel("Confusion matrix (rows: the model's code, columns: the other's):"))
        layout.addWidget(self.matrix, 2)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_matrix(row))
        if load:  # else the agreement panel reads it on its worker and calls show_result
            self.refresh()
        else:
            self.title.setText("Reading the model's proposals…")

    def refresh(self) -> None:
        """Read and show (on this thread: seconds on a big project; the agreement panel reads
        off it, sp.model_agreement_of, and calls show_result)."""
        self.show_result(*sp.model_agreement_of(self.store))

    def show_result(self, result: dict | None, name: str | None) -> None:
        self.result = result
        self.table.clear()
        headers = ["versus", "frames", "agree", "Cohen's kappa"]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        if self.result is None:
            self.title.setText("No proposals yet: run Faces > Propose expressions.")
            self.table.setRowCount(0)
            self.matrix.clear()
            return
        self.title.setText(f"Model {name}: {self.result['proposed']} frames proposed")
        rows = self.result["comparisons"]
        self.table.setRowCount(len(rows))
        for i, c in enumerate(rows):
            agree = "—" if c["agreement"] is None else f"{100 * c['agreement']:.1f} %"
            kappa = "—" if c["cohen_kappa"] is None else f"{c['cohen_kappa']:.3f}"
            for j, text in enumerate((c["versus"], str(c["n"]), agree, kappa)):
                item = QTableWidgetItem(text)
                if c["note"]:
                    item.setToolTip(c["note"])
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.setCurrentCell(len(rows) - 1, 0)  # the final labels
        self._show_matrix(len(rows) - 1)

    def _show_matrix(self, row: int) -> None:
        if self.result is None or not 0 <= row < len(self.result["comparisons"]):
            return
        c = self.result["comparisons"][row]
        names = [f"{k} {CODES[k]}" for k in c["labels"]]
        self.matrix.clear()
        self.matrix.setRowCount(len(names))
        self.matrix.setColumnCount(len(names))
        self.matrix.setHorizontalHeaderLabels(names)
        self.matrix.setVerticalHeaderLabels(names)
        for i, values in enumerate(c["matrix"]):
            for j, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.matrix.setItem(i, j, item)
        self.matrix.resizeColumnsToContents()
