"""The clip list: each clip with its work, actor and group, and labelled / flagged / total with
a small progress bar."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from itertools import islice
from operator import lt

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QStringListModel,
    Qt,
    QTimer,
    Signal,
)
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


def counts_delta(old: FrameRow, new: FrameRow) -> tuple[int, int, int, int]:
    """How an edit of one frame moves its clip's (labelled, flagged, suggested, todo)
    counts."""
    def state(r: FrameRow) -> tuple[int, int, int, int]:
        kept = not r.reasons and not r.irrelevant
        return (int(r.code is not None and kept), int(bool(r.reasons)), int(bool(r.suggested)),
                int(r.code is None and kept))
    a, b = state(old), state(new)
    return b[0] - a[0], b[1] - a[1], b[2] - a[2], b[3] - a[3]


class ClipListModel(QStringListModel):
    """Every clip of the project (`clips()`), of which the rows are those the clip list's
    filter keeps (ui/clip_list.py). The counts are read lazily: `summary()` reads a clip's
    at once when they are not known yet; painting asks `request` for them and shows the clip
    meanwhile (a big project's counts come a chunk at a time, off the window's thread).

    A string list model underneath (the ids shown), so the list view's layout, which asks for
    every row's index, stays in C++: with rowCount in Python, 16,000 clips cost 0.3 s a
    layout. A count that changes repaints its row (`repaint`, set by the window) rather than
    emitting dataChanged, on which QListView lays every row out again.

    The rows shown are positions in `clips()` in ascending order (a filter keeps the list's
    order), so a clip's row is found by bisection: no clip id -> row table to build at every
    key typed in the search box (issue 19: 8,000 rows, 2 ms of the keystroke).

    `set_rows(rows, first=n)` lists the first n rows at once and the rest when the typing
    pauses (`complete`: COMPLETE_MS after the last `set_rows`, then `completed`), or at once
    when asked for (`row_of` a row not listed yet, `complete()`): a key typed in the search box
    costs what the screen shows, not the 8,000 rows it keeps. Meanwhile rowCount() is the rows
    listed so far and `shown_count()` all of them.
    """

    #: every row is listed (after `set_rows(..., first=n)`)
    completed = Signal()
    #: ms without a `set_rows` until the rest of a `set_rows(..., first=n)` is listed
    COMPLETE_MS = 300

    def __init__(self, parent=None):
        super().__init__(parent)
        self._clips: list[Clip] = []  # all of them, in list order
        self._rows: list[int] = []  # positions in _clips of the rows shown
        self._ids: list[str] = []  # the clips' ids, in _clips order
        self._row_of: dict[str, int] | None = None  # clip id -> row, only for unsorted rows
        self._pos: dict[str, int] = {}  # clip id -> position in _clips
        self._listed = 0  # how many of _rows the string list holds (the rest: `complete`)
        self._completer = QTimer(self)
        self._completer.setSingleShot(True)
        self._completer.setInterval(self.COMPLETE_MS)
        self._completer.timeout.connect(self.complete)
        self._summary: dict[str, ClipSummary] = {}
        self._blind: set[str] = set()
        #: clip id -> its counts, read now (the window sets it)
        self.fetch: Callable[[str], ClipSummary | None] | None = None
        #: asked for the counts of a clip being painted without them
        self.request: Callable[[str], None] | None = None
        #: asked to read a clip's counts (again) off the window's thread (`recount`)
        self.refresh: Callable[[str], None] | None = None
        #: told of every clip an edit changed (`apply_delta`), once the edit is committed, and
        #: of every clip to read again (`recount`): counts read before are out of date
        self.edited: Callable[[str], None] | None = None
        self._stale: set[str] = set()  # clips whose counts wait to be read again
        #: repaints a row (None: every row) whose counts changed; without it, dataChanged
        self.repaint: Callable[[int | None], None] | None = None
        #: the first and last rows on screen (counts arriving elsewhere repaint nothing)
        self.on_screen: Callable[[], tuple[int, int]] | None = None
        self._tot = ClipSummary()  # the sums of the counts known

    def _clip_at(self, row: int) -> Clip | None:
        return self._clips[self._rows[row]] if 0 <= row < len(self._rows) else None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        clip = self._clip_at(index.row()) if index.isValid() else None
        if clip is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return clip.id
        if role == ClipRole:
            return clip
        if role == SummaryRole:
            s = self._summary.get(clip.id)
            if s is None and self.request is not None:
                self.request(clip.id)
            return s
        if role == StatusRole:  # the frame count matters only to a clip not extracted
            frames = 0
            if clip.extract_status != "done":  # as known (painting never counts frames)
                s = self._summary.get(clip.id)
                if s is None and self.request is not None:
                    self.request(clip.id)
                frames = s.total if s is not None else 0
            return clip_status(clip, frames)
        if role == Qt.ItemDataRole.ToolTipRole:
            s = self._summary.get(clip.id)
            counts = ("counting the frames…" if s is None else
                      f"{s.labelled} labelled, {s.flagged} deleted, {s.irrelevant} irrelevant, "
                      f"{s.suggested} with suggested flags, {s.total} frames")
            lines = [clip.id, f"work: {clip.work}", f"actor: {clip.actor}",
                     f"role: {clip.role}", f"group: {clip.group}", counts,
                     f"extraction: {clip.extract_status}, alignment: {clip.align_status}"]
            if clip.id in self._blind:
                lines.append("blind pass: you see only your own labels")
            if clip.error:
                lines.append(f"error: {clip.error}")
            return "\n".join(lines)
        return None

    def paint_data(self, row: int) -> tuple[Clip | None, ClipSummary | None,
                                            tuple[str, bool] | None]:
        """What the delegate paints of a row: the clip, its counts (None: not read yet; asked
        for, as SummaryRole asks) and its status (StatusRole)."""
        clip = self._clip_at(row)
        if clip is None:
            return None, None, None
        s = self._summary.get(clip.id)
        if s is None and self.request is not None:
            self.request(clip.id)
        # the frame count as known (painting never counts frames: StatusRole's rule)
        frames = s.total if s is not None and clip.extract_status != "done" else 0
        return clip, s, clip_status(clip, frames)

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemNeverHasChildren

    def set_clips(self, clips: list[Clip], summary: dict[str, ClipSummary],
                  blind: set[str], rows: list[int] | None = None) -> None:
        """All the project's clips, the counts known, and the rows to show (None: all)."""
        self._clips = clips
        self._ids = [c.id for c in clips]
        self._pos = {c: i for i, c in enumerate(self._ids)}
        self._summary = {}
        self._stale = set()
        self._tot = ClipSummary()
        self._add(summary)
        self._blind = blind
        self._set_rows(list(range(len(clips))) if rows is None else rows)

    def set_rows(self, rows: list[int], *, first: int | None = None) -> None:
        """Show these positions of `clips()` (a filter's result, ascending); with `first`,
        list that many at once and the rest a moment later (the class docstring)."""
        if self._completer.isActive():
            self._completer.start()  # still typing: later
        if rows == self._rows:
            return
        self._set_rows(rows, first)

    def rows(self) -> list[int]:
        """The positions in `clips()` of the rows shown (a new list whenever they change)."""
        return self._rows

    def _set_rows(self, rows: list[int], first: int | None = None) -> None:
        self._rows = rows
        ascending = all(map(lt, rows, islice(rows, 1, None)))
        self._row_of = None if ascending else {self._ids[p]: r for r, p in enumerate(rows)}
        n = len(rows) if first is None else min(len(rows), max(1, first))
        self._listed = n
        # resets the model (the view's layout stays in C++)
        self.setStringList(list(map(self._ids.__getitem__, islice(rows, n))))
        if n < len(rows):
            self._completer.start()
        else:
            self._completer.stop()

    def complete(self) -> None:
        """List every row now (the rest of a `set_rows(..., first=n)`)."""
        self._completer.stop()
        if self._listed < len(self._rows):
            self._listed = len(self._rows)
            self.setStringList(list(map(self._ids.__getitem__, self._rows)))
            self.completed.emit()

    def shown_count(self) -> int:
        """How many clips the filter keeps (listed or about to be)."""
        return len(self._rows)

    def _add(self, got: dict[str, ClipSummary], sign: int = 1) -> None:
        t = self._tot
        for s in got.values():
            t.total += sign * s.total
            t.labelled += sign * s.labelled
            t.flagged += sign * s.flagged
            t.suggested += sign * s.suggested
            t.disputed += sign * s.disputed
        if sign > 0:
            self._summary.update(got)

    def clips(self) -> list[Clip]:
        """Every clip of the project, shown or not."""
        return self._clips

    def clip(self, clip_id: str) -> Clip | None:
        p = self._pos.get(clip_id)
        return self._clips[p] if p is not None else None

    def row_of(self, clip_id: str) -> int | None:
        """The row showing the clip (None: not in the project, or filtered out); every row
        is listed first when that one is not yet."""
        r = self._row(clip_id)
        if r is not None and r >= self._listed:
            self.complete()
        return r

    def _row(self, clip_id: str) -> int | None:
        if self._row_of is not None:
            return self._row_of.get(clip_id)
        p = self._pos.get(clip_id)
        if p is None:
            return None
        rows = self._rows
        r = bisect_left(rows, p)
        return r if r < len(rows) and rows[r] == p else None

    def known(self) -> dict[str, ClipSummary]:
        """The counts read so far, by clip id."""
        return self._summary

    def summary(self, clip_id: str) -> ClipSummary:
        """The clip's counts; read now if they are not known yet, or wait to be read again
        (the window does not ask this: it shows `known()` and asks `recount`)."""
        s = self._summary.get(clip_id)
        if s is None or clip_id in self._stale:
            got = self.fetch(clip_id) if self.fetch is not None and clip_id in self._pos \
                else None
            if got is None:
                return s or ClipSummary()
            self.set_summary(clip_id, got)
            s = got
        return s

    def is_stale(self, clip_id: str) -> bool:
        """Whether the clip's counts wait to be read (again) after `recount`."""
        return clip_id in self._stale

    def recount(self, clip_id: str, changed: bool = True) -> None:
        """The clip's counts changed in a way the edits' deltas do not tell (frames added, an
        edit elsewhere than the strip), or were never read (not `changed`): read them (again)
        off the window's thread (`refresh`), first; the counts known meanwhile stay shown.
        Without `refresh`: now."""
        if clip_id not in self._pos:
            return
        if self.refresh is None:
            if self.fetch is not None and (got := self.fetch(clip_id)) is not None:
                self.set_summary(clip_id, got)
            return
        self._stale.add(clip_id)
        if changed and self.edited is not None:  # counts read before are out of date
            self.edited(clip_id)
        self.refresh(clip_id)

    def set_summary(self, clip_id: str, summary: ClipSummary) -> None:
        self._stale.discard(clip_id)
        old = self._summary.get(clip_id)
        if old is not None:
            self._add({clip_id: old}, -1)
        self._add({clip_id: summary})
        self._changed(clip_id)

    def add_summaries(self, got: dict[str, ClipSummary]) -> None:
        """Counts read off the window's thread: those not known yet (an edit meanwhile has
        set the newer ones)."""
        fresh = {k: v for k, v in got.items() if k not in self._summary and k in self._pos}
        self._add(fresh)
        if fresh and self._rows:
            if self.repaint is not None:  # only the rows shown (a repaint of the whole list
                # per chunk read cost the window 30 ms each time), and of those only the rows
                # on screen (64 repaints asked a chunk cost the window 3 ms at 16,000 clips)
                lo, hi = self.on_screen() if self.on_screen is not None else (0, len(self._rows))
                for k in fresh:
                    r = self._row(k)
                    if r is not None and r < self._listed and lo <= r <= hi:
                        self.repaint(r)
            else:
                self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1),
                                      [SummaryRole])

    def totals(self) -> tuple[ClipSummary, int]:
        """The project's counts over the clips known (total, labelled, flagged, suggested,
        disputed), and how many clips are known."""
        t = self._tot
        return ClipSummary(total=t.total, labelled=t.labelled, flagged=t.flagged,
                           suggested=t.suggested, disputed=t.disputed), len(self._summary)

    def apply_delta(self, clip_id: str, labelled: int, flagged: int, suggested: int,
                    todo: int = 0, disputed: int = 0) -> None:
        """Move a clip's counts by an edit's delta (the edit is committed)."""
        if self.edited is not None:
            self.edited(clip_id)
        s = self._summary.get(clip_id)
        if s is None:  # never read: read it (edit included) off the window's thread
            self.recount(clip_id)
            self._changed(clip_id)
            return
        s.labelled += labelled
        s.flagged += flagged
        s.suggested += suggested
        s.todo += todo
        s.disputed += disputed
        self._tot.labelled += labelled
        self._tot.flagged += flagged
        self._tot.suggested += suggested
        self._tot.disputed += disputed
        self._changed(clip_id)

    def apply_change(self, old: FrameRow, new: FrameRow) -> None:
        """A frame of `new.clip` changed from `old` to `new`: move its counts."""
        delta = counts_delta(old, new)
        if any(delta):
            self.apply_delta(new.clip, *delta)

    def _changed(self, clip_id: str) -> None:
        r = self._row(clip_id)
        if r is None or r >= self._listed:
            return
        if self.repaint is not None:
            self.repaint(r)
        else:
            idx = self.index(r)
            self.dataChanged.emit(idx, idx, [SummaryRole])


#: What the delegate paints with, made once (a paint of the list is part of every key typed in
#: the clip search: issue 19).
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_SELECTED = QStyle.StateFlag.State_Selected
_ELIDE = Qt.TextElideMode.ElideRight


class ClipDelegate(QStyledItemDelegate):
    """Two lines of text and a thin bar: green labelled, red deleted, of all frames."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._bold = QFont()
        self._bold.setBold(True)
        self._small = QFont()
        self._small.setPointSizeF(max(7.0, self._small.pointSizeF() * 0.85))
        self._bad = QColor("#e74c3c")
        self._track = QColor("#444444")
        self._green = QColor("#2ecc71")

    def sizeHint(self, option, index) -> QSize:
        return QSize(220, 50)

    def paint(self, p: QPainter, option, index) -> None:
        model = index.model()
        if isinstance(model, ClipListModel):  # straight to the model: no role round trips
            clip, s, status = model.paint_data(index.row())
        else:
            clip, s, status = (index.data(ClipRole), index.data(SummaryRole),
                               index.data(StatusRole))
        if clip is None:
            return
        p.save()
        selected = bool(option.state & _SELECTED)
        if selected:
            p.fillRect(option.rect, option.palette.highlight())
        text_color = option.palette.highlightedText().color() if selected else \
            option.palette.text().color()
        r = option.rect.adjusted(6, 3, -6, -3)
        left, top, width = r.left(), r.top(), r.width()
        p.setPen(text_color)
        p.setFont(self._bold)
        counts = f"{s.labelled}/{s.flagged}/{s.total}" if s is not None else "…"
        fm = p.fontMetrics()
        cw = fm.horizontalAdvance(counts)
        p.drawText(QRect(left, top, width - cw - 8, 16), _LEFT,
                   fm.elidedText(clip.id, _ELIDE, width - cw - 8))
        p.drawText(QRect(r.right() - cw, top, cw, 16), _RIGHT, counts)
        p.setFont(self._small)
        fm = p.fontMetrics()
        meta = " · ".join(x for x in (clip.work, clip.actor,
                                      f"group {clip.group}" if clip.group else "") if x)
        sw = 0
        if status is not None:  # what is left to do, right-aligned on the second line
            text, bad = status
            sw = fm.horizontalAdvance(text) + 8
            p.setPen(self._bad if bad and not selected else text_color)
            p.drawText(QRect(r.right() - sw, top + 17, sw, 15), _RIGHT, text)
            p.setPen(text_color)
        p.drawText(QRect(left, top + 17, width - sw, 15), _LEFT,
                   fm.elidedText(meta or clip.source, _ELIDE, width - sw))
        bar = QRect(left, r.bottom() - 5, width, 5)
        p.fillRect(bar, self._track)
        if s is not None and s.total:
            wl = int(bar.width() * s.labelled / s.total)
            wf = int(bar.width() * s.flagged / s.total)
            p.fillRect(QRect(bar.left(), bar.top(), wl, bar.height()), self._green)
            p.fillRect(QRect(bar.left() + wl, bar.top(), wf, bar.height()), self._bad)
        p.restore()


class ClipListView(QListView):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setItemDelegate(ClipDelegate(self))
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setToolTip("labelled / deleted / total frames")

    def focusInEvent(self, event) -> None:  # noqa: N802 - Qt API
        model = self.model()
        if isinstance(model, ClipListModel):  # the keys move through every row the filter kept
            model.complete()
        super().focusInEvent(event)
