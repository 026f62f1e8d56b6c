"""The frame strip: a virtualised QListView of a clip's aligned crops.

FrameStripModel holds the clip's FrameRows in frame order and the positions the current filter
and sort show. `data()` never touches the disk: thumbnails come from an ImageLoader (decoded off
the GUI thread, LRU cache); a miss paints a placeholder and the row is repainted when its image
is ready. After an edit only the rows that changed are replaced (`update_frames`), never the
whole clip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

from feasstm_gui.core.labels.fill import typical_step
from feasstm_gui.core.store import FrameRow
from feasstm_gui.core.vocab import CODES
from feasstm_gui.ui.filters import FILTERS, SORTS, FrameFilter, FrameSort, visible_rows
from feasstm_gui.ui.style import (
    CODE_COLORS,
    CUT_COLOR,
    DELETED_COLOR,
    DISPUTE_COLOR,
    IRRELEVANT_COLOR,
    REASON_LETTERS,
    SUGGESTED_COLOR,
    UNLABELLED_COLOR,
    text_color_on,
)
from feasstm_gui.ui.thumbs import Failed, ImageLoader, Loaded, placeholder

FrameRole = Qt.ItemDataRole.UserRole + 1
FrameIdRole = Qt.ItemDataRole.UserRole + 2
CodeRole = Qt.ItemDataRole.UserRole + 3
ReasonsRole = Qt.ItemDataRole.UserRole + 4
ThumbStateRole = Qt.ItemDataRole.UserRole + 5  # "ready" | "loading" | "missing" | "noface"

_RoleIndex = QModelIndex | QPersistentModelIndex
# Qt asks for flags and paints text thousands of times a second: the enum sums made once
_ITEM_FLAGS = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
               | Qt.ItemFlag.ItemNeverHasChildren)
_RIGHT = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
_LEFT = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft


class FrameStripModel(QAbstractListModel):
    """A list of frames (one clip, or a review set across clips)."""

    #: A crop that could not be read: (frame row, reason). The window says so once.
    crop_failed = Signal(object, str)

    def __init__(self, loader: ImageLoader, parent=None):
        super().__init__(parent)
        self.loader = loader
        self._all: list[FrameRow] = []  # frame order
        self._pos_of: dict[int, int] = {}  # frame id -> position in _all
        self._rows: list[int] = []  # visible: positions in _all
        self._row_of: dict[int, int] = {}  # frame id -> visible row
        self._waiting: dict[str, set[int]] = {}  # crop path -> frame ids waiting for it
        self.filter: FrameFilter = FILTERS[0]
        self.sort: FrameSort = SORTS[0]
        self.show_clip = False  # review grid: show the clip id on each item
        #: Where the window's extra state comes from (ui/label_state.LabelStateSource): frames
        #: in disagreement (shown with the annotator's own code and a badge) and scene cuts.
        self.state_source = None
        self.disputes: dict = {}  # frame id -> label_state.Dispute
        self.cuts: set[int] = set()  # ids of frames that begin a new shot
        self._open_disputes = 0  # disputes among frames neither deleted nor irrelevant
        self._step: int | None = None  # the clip's typical step in frame index, once asked
        loader.ready.connect(self._on_image_ready)

    # -- Qt model API -----------------------------------------------------------------------

    def rowCount(self, parent: _RoleIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _RoleIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._all[self._rows[index.row()]]
        if role == FrameRole:
            return row
        if role == FrameIdRole:
            return row.id
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display_text(row)
        if role == CodeRole:
            return row.code
        if role == ReasonsRole:
            return sorted(row.reasons)
        if role == Qt.ItemDataRole.DecorationRole:
            item = self._thumb(row)
            return item.pixmap if isinstance(item, Loaded) else None
        if role == ThumbStateRole:
            if not row.crop:
                return "noface"
            item = self.loader.peek(self.crop_path(row))
            if item is None:
                return "loading"
            return "missing" if isinstance(item, Failed) else "ready"
        if role == Qt.ItemDataRole.ToolTipRole:
            text = tooltip(row)
            d = self.disputes.get(row.id)
            if d is not None:
                text += ("\nin disagreement: codes " + ", ".join(map(str, d.codes))
                         + " given; not exported until adjudicated")
            if row.id in self.cuts:
                text += "\nscene cut before this frame"
            return text
        return None

    def flags(self, index: _RoleIndex) -> Qt.ItemFlag:
        return _ITEM_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def display_text(self, row: FrameRow) -> str:
        """The number an item shows (the review grid: "clip #frame")."""
        return f"{row.clip} #{row.frame_index}" if self.show_clip else str(row.frame_index)

    # -- contents -----------------------------------------------------------------------------

    base_folder: str = ""

    def crop_path(self, row: FrameRow) -> str:
        return f"{self.base_folder}/{row.crop}" if row.crop else ""

    def set_frames(self, rows: list[FrameRow], base_folder: str) -> None:
        """Show a new list of frames (a clip was opened)."""
        self.beginResetModel()
        self.base_folder = base_folder
        src = self.state_source
        self.disputes = src.disputes(rows, whole=not self.show_clip) if src and rows else {}
        self.cuts = src.cuts(rows) if src and rows and not self.show_clip else set()
        self._all = [self._decorated(r) for r in rows] if self.disputes else rows
        self._pos_of = {r.id: i for i, r in enumerate(rows)}
        self._step = None
        self._open_disputes = sum(1 for i in self.disputes
                                  if (p := self._pos_of.get(i)) is not None
                                  and self._counted(self._all[p]))
        self._waiting.clear()
        self._apply_view()
        self.endResetModel()

    def set_view(self, flt: FrameFilter | None = None, sort: FrameSort | None = None) -> None:
        """Filter and sort again (also re-applies the current filter to edited frames)."""
        self.beginResetModel()
        if flt is not None:
            self.filter = flt
        if sort is not None:
            self.sort = sort
        self._apply_view()
        self.endResetModel()

    def _apply_view(self) -> None:
        if self.filter.key == "all" and self.sort.key == "frame" and not self.sort.descending:
            self._rows = list(range(len(self._all)))
            self._row_of = self._pos_of.copy() if self._all else {}
        else:
            self._rows = visible_rows(self._all, self.filter, self.sort, self.disputes)
            self._row_of = {self._all[p].id: r for r, p in enumerate(self._rows)}

    def update_frames(self, rows: Iterable[FrameRow]) -> list[tuple[FrameRow, FrameRow]]:
        """Replace edited frames in place and repaint their items (the filter is not re-run
        until asked, so a frame does not vanish under the cursor). Returns (old, new) pairs."""
        changed: list[tuple[FrameRow, FrameRow]] = []
        lo, hi = None, None
        rows = [r for r in rows if r.id in self._pos_of]
        was = {r.id: r.id in self.disputes for r in rows}
        if self.state_source is not None and rows:
            now = self.state_source.disputes(rows, whole=False)
            for r in rows:
                if r.id in now:
                    self.disputes[r.id] = now[r.id]
                else:
                    self.disputes.pop(r.id, None)
        for new in rows:
            pos = self._pos_of[new.id]
            old = self._all[pos]
            new = self._decorated(new)
            self._all[pos] = new
            if old.crop != new.crop and old.crop:
                self.loader.forget(self.crop_path(old))
            # counted as the clip list counts: by final label (none while in disagreement)
            changed.append((replace(old, code=None) if was[new.id] else old,
                            replace(new, code=None) if new.id in self.disputes else new))
            self._open_disputes += ((new.id in self.disputes and self._counted(new))
                                    - (was[new.id] and self._counted(old)))
            r = self._row_of.get(new.id)
            if r is not None:
                lo = r if lo is None else min(lo, r)
                hi = r if hi is None else max(hi, r)
        if lo is not None:
            self.dataChanged.emit(self.index(lo), self.index(hi))
        return changed

    def _decorated(self, row: FrameRow) -> FrameRow:
        """A frame in disagreement shows the annotator's own code (its final label is none)."""
        d = self.disputes.get(row.id)
        return replace(row, code=d.own) if d is not None and row.code != d.own else row

    @staticmethod
    def _counted(row: FrameRow) -> bool:
        return not row.reasons and not row.irrelevant

    def typical_step(self) -> int:
        """The clip's usual step in frame index (core/labels/fill.typical_step), worked out
        on the first fill forward and kept until the next clip (edits do not change it)."""
        if self._step is None:
            self._step = typical_step(self._all)
        return self._step

    def open_dispute_count(self) -> int:
        """Frames in disagreement that are neither deleted nor irrelevant (the status bar's
        count), kept up to date as edits come in: never a walk over the clip."""
        return self._open_disputes

    def is_labelled(self, row: FrameRow) -> bool:
        """Labelled for fill forward and N: a code, or labels in disagreement."""
        return row.code is not None or row.id in self.disputes

    def is_unlabelled(self, row: FrameRow) -> bool:
        """What N looks for: not labelled by anyone, not deleted, not irrelevant."""
        return not self.is_labelled(row) and not row.reasons and not row.irrelevant

    def frames(self) -> list[FrameRow]:
        """Every frame in frame order (filtered out ones included)."""
        return self._all

    def visible_frames(self) -> list[FrameRow]:
        return [self._all[p] for p in self._rows]

    def frame_at(self, row: int) -> FrameRow | None:
        return self._all[self._rows[row]] if 0 <= row < len(self._rows) else None

    def row_of(self, frame_id: int) -> int | None:
        return self._row_of.get(frame_id)

    def position_of(self, frame_id: int) -> int | None:
        return self._pos_of.get(frame_id)

    def has_frame(self, frame_id: int) -> bool:
        return frame_id in self._pos_of

    # -- thumbnails -------------------------------------------------------------------------

    def _thumb(self, row: FrameRow) -> Loaded | Failed | None:
        if not row.crop:
            return None
        path = self.crop_path(row)
        item = self.loader.get(path)
        if item is None:
            self._waiting.setdefault(path, set()).add(row.id)
        return item

    def thumb(self, row: FrameRow) -> Loaded | Failed | None:
        return self._thumb(row)

    def _on_image_ready(self, path: str) -> None:
        ids = self._waiting.pop(path, None)
        if not ids:
            return
        item = self.loader.peek(path)
        for fid in ids:
            r = self._row_of.get(fid)
            if r is None:
                continue
            if isinstance(item, Failed):
                self.crop_failed.emit(self._all[self._rows[r]], item.reason)
            idx = self.index(r)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


def tooltip(row: FrameRow) -> str:
    parts = [f"clip {row.clip}, frame {row.frame_index}"]
    if row.time_ms is not None:
        parts.append(f"time {row.time_ms / 1000:.2f} s")
    parts.append(f"code: {row.code} {CODES[row.code]}" if row.code else "unlabelled")
    if row.reasons:
        parts.append("deleted: " + ", ".join(sorted(row.reasons)))
    if row.suggested:
        parts.append("suggested: " + ", ".join(sorted(row.suggested)))
    if row.irrelevant:
        parts.append("irrelevant (no face of the actor)")
    if row.prob is not None:
        parts.append(f"detection p={row.prob:.3f}")
    if row.sharpness is not None:
        parts.append(f"sharpness {row.sharpness:.1f}")
    return "\n".join(parts)


_IRRELEVANT_SHADE = QColor(40, 50, 60, 170)
_DELETED_SHADE = QColor(0, 0, 0, 120)
_TEXT_ON: dict[int, QColor] = {}


def _text_on(color: QColor) -> QColor:
    got = _TEXT_ON.get(color.rgba())
    if got is None:
        got = _TEXT_ON[color.rgba()] = text_color_on(color)
    return got


class FrameDelegate(QStyledItemDelegate):
    """Paints a crop with a colour band for its code and badges for its flags."""

    BAND = 18

    def __init__(self, parent=None, thumb: int = 96):
        super().__init__(parent)
        self.thumb = thumb
        self._font = QFont()
        self._font.setPixelSize(11)
        self._bold = QFont(self._font)
        self._bold.setBold(True)
        self._room_label: dict[int | None, int] = {}  # code -> room its digit needs
        self._labels: dict[tuple[int | None, int], str] = {}  # (code, room) -> label shown

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.thumb + 6, self.thumb + self.BAND + 6)

    def paint(self, p: QPainter, option, index) -> None:
        row: FrameRow | None = index.data(FrameRole)
        if row is None:
            return
        model: FrameStripModel = index.model()
        rect = option.rect.adjusted(3, 3, -3, -3)
        img = QRect(rect.left(), rect.top(), rect.width(), rect.width())
        band = QRect(rect.left(), img.bottom() + 1, rect.width(), self.BAND)
        p.save()
        item = model.thumb(row)
        if isinstance(item, Loaded):
            p.drawPixmap(img, item.pixmap)
        else:
            kind = "noface" if not row.crop else ("missing" if isinstance(item, Failed)
                                                  else "loading")
            p.drawPixmap(img, placeholder(kind, img.width()))
        if row.irrelevant:
            p.fillRect(img, _IRRELEVANT_SHADE)
        if row.reasons:
            p.fillRect(img, _DELETED_SHADE)
            p.setPen(QPen(DELETED_COLOR, 3))
            p.drawLine(img.topLeft(), img.bottomRight())
            p.drawLine(img.topRight(), img.bottomLeft())
        # code band
        color = CODE_COLORS.get(row.code or 0, UNLABELLED_COLOR)
        p.fillRect(band, color)
        p.setPen(_text_on(color))
        number, label = self._band_texts(p, row.code, model.display_text(row), band.width())
        text_rect = band.adjusted(3, 0, -3, 0)
        p.setFont(self._font)
        p.drawText(text_rect, _RIGHT, number)
        p.setFont(self._bold)
        p.drawText(text_rect, _LEFT, label)
        # badges: deletion reasons (red, top right), suggestions (amber, top left)
        if row.reasons:
            self._badge(p, img, "".join(REASON_LETTERS[r] for r in sorted(row.reasons)),
                        DELETED_COLOR, right=True)
        if row.suggested:
            self._badge(p, img, "?" + "".join(REASON_LETTERS[r] for r in sorted(row.suggested)),
                        SUGGESTED_COLOR, right=False)
        if row.irrelevant:
            self._badge(p, QRect(img.left(), img.bottom() - 16, img.width(), 16), "irrelevant",
                        IRRELEVANT_COLOR, right=False)
        dispute = model.disputes.get(row.id)
        if dispute is not None:  # annotators differ: the codes given, bottom right
            self._badge(p, QRect(img.left(), img.bottom() - 14, img.width(), 15),
                        "≠" + "/".join(str(c) for c in dispute.codes), DISPUTE_COLOR, right=True)
        if row.id in model.cuts:  # a scene cut before this frame: a bar down its left edge
            p.fillRect(QRect(option.rect.left(), option.rect.top(), 3, option.rect.height()),
                       CUT_COLOR)
        # selection and current frame
        if option.state & QStyle.StateFlag.State_Selected:
            hl = QColor(option.palette.highlight().color())
            hl.setAlpha(70)
            p.fillRect(img, hl)
            p.setPen(QPen(option.palette.highlight().color(), 4))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(option.rect.adjusted(2, 2, -2, -2))
        if option.state & QStyle.StateFlag.State_HasFocus:
            p.setPen(QPen(QColor("white"), 1, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(option.rect.adjusted(0, 0, -1, -1))
        p.restore()
        self.paint_overlay(p, img, row)

    def paint_overlay(self, p: QPainter, img: QRect, row: FrameRow) -> None:
        """What a subclass adds over the thumbnail `img` (ui/proposals.py: the proposal)."""

    def _band_texts(self, p: QPainter, code: int | None, number: str, width: int
                    ) -> tuple[str, str]:
        """The band's frame number and code label, elided to fit `width` (the number keeps
        its end, the clip name of "clip #frame" is elided in the middle, so a long name never
        pushes the number out of the band). Measures the number once (eliding only what does
        not fit); the label's elision is kept per code and room."""
        room_label = self._room_label.get(code)
        if room_label is None:
            p.setFont(self._bold)
            short = f"{code}" if code else "–"
            room_label = self._room_label[code] = p.fontMetrics().horizontalAdvance(short) + 6
        p.setFont(self._font)
        fm = p.fontMetrics()
        avail = width - 6 - room_label
        advance = fm.horizontalAdvance(number)
        if advance > avail:
            number = fm.elidedText(number, Qt.TextElideMode.ElideMiddle, avail)
            advance = fm.horizontalAdvance(number)
        room = max(width - advance - 10, room_label)
        key = (code, room)
        label = self._labels.get(key)
        if label is None:
            p.setFont(self._bold)
            text = f"{code} {CODES[code]}" if code else "–"
            label = self._labels[key] = p.fontMetrics().elidedText(
                text, Qt.TextElideMode.ElideRight, room)
        return number, label

    def _badge(self, p: QPainter, img: QRect, text: str, color: QColor, right: bool) -> None:
        p.setFont(self._bold)
        w = p.fontMetrics().horizontalAdvance(text) + 6
        r = QRect(img.right() - w + 1 if right else img.left(), img.top(), w, 15)
        p.fillRect(r, color)
        p.setPen(text_color_on(color))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)


class FrameStripView(QListView):
    """A wrapping grid of frames; navigation and range selection are driven by actions."""

    #: The current frame changed (FrameRow or None).
    current_frame_changed = Signal(object)
    activated_frame = Signal(object)
    #: Text typed that no action took (Qt would jump to a frame whose number starts with it;
    #: the window says instead why nothing happened, e.g. a read-only project).
    typed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        # IconMode, not ListMode: in ListMode every dataChanged() lays out all items again
        # (200,000 rowCount calls for a 100,000-frame clip); IconMode repaints just the item.
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(4000)
        self.setMovement(QListView.Movement.Static)
        self.setDragEnabled(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(False)
        self.delegate = FrameDelegate(self)
        self.setItemDelegate(self.delegate)
        self._anchor: int | None = None
        self._kept: tuple[int | None, list[int]] | None = None
        self.empty_text = ""  # what to do next, shown when there is no frame to show
        self.doubleClicked.connect(lambda idx: self.activated_frame.emit(idx.data(FrameRole)))

    def set_empty_text(self, text: str) -> None:
        if text != self.empty_text:
            self.empty_text = text
            self.viewport().update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().paintEvent(event)
        model = self.model()
        if self.empty_text and model is not None and model.rowCount() == 0:
            p = QPainter(self.viewport())
            p.setPen(self.palette().color(self.palette().ColorRole.PlaceholderText))
            area = self.viewport().rect().adjusted(24, 24, -24, -24)
            p.drawText(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                       self.empty_text)
            p.end()

    def setModel(self, model) -> None:  # noqa: N802 - Qt API
        super().setModel(model)
        self.selectionModel().currentChanged.connect(self._on_current)
        model.modelAboutToBeReset.connect(self._remember)
        model.modelReset.connect(self._on_reset)

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 - Qt API
        self.typed.emit(search)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_frame_changed.emit(current.data(FrameRole) if current.isValid() else None)

    def _remember(self) -> None:
        cur = self.current_frame()
        self._kept = (cur.id if cur is not None else None,
                      [f.id for f in self.selected_frames()])

    def _on_reset(self) -> None:
        """A model reset (filter, sort, F5) keeps the current frame and the selection where
        they are still shown; a new clip has other frame ids, so nothing is kept."""
        self._anchor = None
        self.current_frame_changed.emit(None)
        kept, self._kept = self._kept, None
        model = self.model()
        if kept is None or kept[0] is None or model.row_of(kept[0]) is None:
            return
        self.go_to_row(model.row_of(kept[0]))
        rows = [r for i in kept[1] if (r := model.row_of(i)) is not None]
        if len(rows) > 1:
            self.select_rows(rows)

    def set_thumb_size(self, size: int) -> None:
        self.delegate.thumb = size
        self.scheduleDelayedItemsLayout()
        self.viewport().update()

    # -- selection --------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:  # noqa: N802
        super().mousePressEvent(event)
        if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            idx = self.currentIndex()
            self._anchor = idx.row() if idx.isValid() else None

    def selected_rows(self) -> list[int]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        if not rows and self.currentIndex().isValid():
            rows = [self.currentIndex().row()]
        return rows

    def selected_frames(self) -> list[FrameRow]:
        model: FrameStripModel = self.model()
        return [f for r in self.selected_rows() if (f := model.frame_at(r)) is not None]

    def current_frame(self) -> FrameRow | None:
        idx = self.currentIndex()
        return idx.data(FrameRole) if idx.isValid() else None

    def go_to_row(self, row: int, extend: bool = False) -> None:
        """Make `row` current; select it alone, or the range from the anchor when extending."""
        model = self.model()
        n = model.rowCount()
        if n == 0:
            return
        row = max(0, min(n - 1, row))
        target = model.index(row)
        sm = self.selectionModel()
        if extend:
            if self._anchor is None:
                cur = self.currentIndex()
                self._anchor = cur.row() if cur.isValid() else row
            a = model.index(self._anchor)
            sm.setCurrentIndex(target, QItemSelectionModel.SelectionFlag.NoUpdate)
            sm.select(QItemSelection(a if self._anchor <= row else target,
                                     target if self._anchor <= row else a),
                      QItemSelectionModel.SelectionFlag.ClearAndSelect)
        else:
            self._anchor = row
            sm.setCurrentIndex(target, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.scrollTo(target)

    def select_rows(self, rows: Sequence[int]) -> None:
        model = self.model()
        sel = QItemSelection()
        for r in rows:
            sel.select(model.index(r), model.index(r))
        self.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def navigate(self, where: str, extend: bool = False) -> None:
        cur = self.currentIndex()
        row = cur.row() if cur.isValid() else -1
        n = self.model().rowCount() if self.model() else 0
        if n == 0:
            return
        if where == "prev":
            target = max(0, row - 1)
        elif where == "next":
            target = min(n - 1, row + 1)
        elif where == "first":
            target = 0
        elif where == "last":
            target = n - 1
        else:
            action = {
                "up": QAbstractItemView.CursorAction.MoveUp,
                "down": QAbstractItemView.CursorAction.MoveDown,
                "page_up": QAbstractItemView.CursorAction.MovePageUp,
                "page_down": QAbstractItemView.CursorAction.MovePageDown,
            }[where]
            if row < 0:
                target = 0
            else:
                idx = self.moveCursor(action, Qt.KeyboardModifier.NoModifier)
                target = idx.row() if idx.isValid() else row
        self.go_to_row(target, extend=extend)
