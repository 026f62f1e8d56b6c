"""The clip list: each clip with its work, actor and group, and labelled / flagged / total with
a small progress bar."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

from feasstm_gui.core.store import Clip, FrameRow
from feasstm_gui.core.store.views import ClipSummary

ClipRole = Qt.ItemDataRole.UserRole + 1
SummaryRole = Qt.ItemDataRole.UserRole + 2
StatusRole = Qt.ItemDataRole.UserRole + 3  # (short text, is it a problem) or None


def clip_status(clip: Clip, frames: int) -> tuple[str, bool] | None:
    """What is left to do on a clip, in a few words, and whether it is a problem (a damaged
    video); None when extraction and alignment are done."""
    if clip.extract_status == "damaged":
        return "damaged video", True
    if clip.source != "video":
        return None
    if clip.extract_status != "done" and not frames:
        return "to extract", False
    if clip.extract_status != "done":
        return "partly extracted", False
    if clip.align_status == "partial":
        return "partly aligned", False
    if clip.align_status != "done":
        return "to align", False
    return None


def counts_delta(old: FrameRow, new: FrameRow) -> tuple[int, int, int]:
    """How an edit of one frame moves its clip's (labelled, flagged, suggested) counts."""
    def state(r: FrameRow) -> tuple[int, int, int]:
        return (int(r.code is not None and not r.reasons and not r.irrelevant),
                int(bool(r.reasons)), int(bool(r.suggested)))
    a, b = state(old), state(new)
    return b[0] - a[0], b[1] - a[1], b[2] - a[2]


class ClipListModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._clips: list[Clip] = []
        self._summary: dict[str, ClipSummary] = {}
        self._blind: set[str] = set()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._clips)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._clips):
            return None
        clip = self._clips[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return clip.id
        if role == ClipRole:
            return clip
        if role == SummaryRole:
            return self._summary.get(clip.id, ClipSummary())
        if role == StatusRole:
            return clip_status(clip, self._summary.get(clip.id, ClipSummary()).total)
        if role == Qt.ItemDataRole.ToolTipRole:
            s = self._summary.get(clip.id, ClipSummary())
            lines = [clip.id, f"work: {clip.work}", f"actor: {clip.actor}",
                     f"role: {clip.role}", f"group: {clip.group}",
                     f"{s.labelled} labelled, {s.flagged} deleted, {s.irrelevant} irrelevant, "
                     f"{s.suggested} with suggested flags, {s.total} frames",
                     f"extraction: {clip.extract_status}, alignment: {clip.align_status}"]
            if clip.id in self._blind:
                lines.append("blind pass: you see only your own labels")
            if clip.error:
                lines.append(f"error: {clip.error}")
            return "\n".join(lines)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemNeverHasChildren

    def set_clips(self, clips: list[Clip], summary: dict[str, ClipSummary],
                  blind: set[str]) -> None:
        self.beginResetModel()
        self._clips = clips
        self._summary = summary
        self._blind = blind
        self.endResetModel()

    def clips(self) -> list[Clip]:
        return self._clips

    def row_of(self, clip_id: str) -> int | None:
        for i, c in enumerate(self._clips):
            if c.id == clip_id:
                return i
        return None

    def summary(self, clip_id: str) -> ClipSummary:
        return self._summary.get(clip_id, ClipSummary())

    def set_summary(self, clip_id: str, summary: ClipSummary) -> None:
        self._summary[clip_id] = summary
        self._changed(clip_id)

    def apply_delta(self, clip_id: str, labelled: int, flagged: int, suggested: int) -> None:
        s = self._summary.setdefault(clip_id, ClipSummary())
        s.labelled += labelled
        s.flagged += flagged
        s.suggested += suggested
        self._changed(clip_id)

    def _changed(self, clip_id: str) -> None:
        r = self.row_of(clip_id)
        if r is not None:
            idx = self.index(r)
            self.dataChanged.emit(idx, idx, [SummaryRole])


class ClipDelegate(QStyledItemDelegate):
    """Two lines of text and a thin bar: green labelled, red deleted, of all frames."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._bold = QFont()
        self._bold.setBold(True)
        self._small = QFont()
        self._small.setPointSizeF(max(7.0, self._small.pointSizeF() * 0.85))

    def sizeHint(self, option, index) -> QSize:
        return QSize(220, 50)

    def paint(self, p: QPainter, option, index) -> None:
        clip: Clip = index.data(ClipRole)
        s: ClipSummary = index.data(SummaryRole)
        p.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            p.fillRect(option.rect, option.palette.highlight())
        text_color = option.palette.highlightedText().color() if selected else \
            option.palette.text().color()
        r = option.rect.adjusted(6, 3, -6, -3)
        p.setPen(text_color)
        p.setFont(self._bold)
        counts = f"{s.labelled}/{s.flagged}/{s.total}"
        cw = p.fontMetrics().horizontalAdvance(counts)
        p.drawText(QRect(r.left(), r.top(), r.width() - cw - 8, 16),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   p.fontMetrics().elidedText(clip.id, Qt.TextElideMode.ElideRight,
                                              r.width() - cw - 8))
        p.drawText(QRect(r.right() - cw, r.top(), cw, 16),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, counts)
        p.setFont(self._small)
        meta = " · ".join(x for x in (clip.work, clip.actor,
                                      f"group {clip.group}" if clip.group else "") if x)
        status = index.data(StatusRole)
        sw = 0
        if status is not None:  # what is left to do, right-aligned on the second line
            text, bad = status
            sw = p.fontMetrics().horizontalAdvance(text) + 8
            p.setPen(QColor("#e74c3c") if bad and not selected else text_color)
            p.drawText(QRect(r.right() - sw, r.top() + 17, sw, 15),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            p.setPen(text_color)
        p.drawText(QRect(r.left(), r.top() + 17, r.width() - sw, 15),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   p.fontMetrics().elidedText(meta or clip.source, Qt.TextElideMode.ElideRight,
                                              r.width() - sw))
        bar = QRect(r.left(), r.bottom() - 5, r.width(), 5)
        p.fillRect(bar, QColor("#444444"))
        if s.total:
            wl = int(bar.width() * s.labelled / s.total)
            wf = int(bar.width() * s.flagged / s.total)
            p.fillRect(QRect(bar.left(), bar.top(), wl, bar.height()), QColor("#2ecc71"))
            p.fillRect(QRect(bar.left() + wl, bar.top(), wf, bar.height()), QColor("#e74c3c"))
        p.restore()


class ClipListView(QListView):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setItemDelegate(ClipDelegate(self))
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setToolTip("labelled / deleted / total frames")
