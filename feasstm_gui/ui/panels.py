"""Small panels of the main window: the filter and sort bar, the review grid's bar, the legend."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from feasstm_gui.core.vocab import CODES, REASONS, SUGGESTED_REASONS
from feasstm_gui.ui import style
from feasstm_gui.ui.filters import FILTERS, SORTS, FrameFilter, FrameSort


class _PopupKeys(QObject):
    """While a dropdown's list is open, its keys (arrows, pages, Home/End, letters) move the
    list's highlight: they are taken before the window's shortcuts can move the strip behind
    the popup."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.ShortcutOverride:
            plain = event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier
                                          | Qt.KeyboardModifier.ShiftModifier)
            if plain == Qt.KeyboardModifier.NoModifier:
                event.accept()
        return False


def own_popup_keys(*boxes: QComboBox) -> None:
    """Give each box's open list its own keys (see _PopupKeys)."""
    for box in boxes:
        box.view().installEventFilter(_PopupKeys(box))


class FilterBar(QWidget):
    """Which frames of the clip the strip shows, and in what order."""

    changed = Signal(object, object)  # FrameFilter, FrameSort

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filter_box = QComboBox()
        for f in FILTERS:
            self.filter_box.addItem(f.title, f)
        self.filter_box.setToolTip("Show only some frames (edited frames stay until you refresh)")
        self.sort_box = QComboBox()
        for s in SORTS:
            self.sort_box.addItem(s.title, s)
        self.count = QLabel()
        # room for "100,000 of 100,000 frames shown": applying a filter does not move the bar
        self.count.setMinimumWidth(self.count.fontMetrics().horizontalAdvance(
            "10,000 of 10,000 frames shown") + 8)
        for box in (self.filter_box, self.sort_box):  # the open list shows the whole titles
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(14)
            box.view().setMinimumWidth(box.view().sizeHintForColumn(0) + 24)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Apply the filter again (F5)")
        own_popup_keys(self.filter_box, self.sort_box)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(QLabel("Show"))
        layout.addWidget(self.filter_box)
        layout.addWidget(QLabel("Sort"))
        layout.addWidget(self.sort_box)
        layout.addWidget(self.refresh_button)
        layout.addStretch(1)
        layout.addWidget(self.count)
        self.filter_box.currentIndexChanged.connect(self._emit)
        self.sort_box.currentIndexChanged.connect(self._emit)
        self.refresh_button.clicked.connect(self._emit)

    def _emit(self) -> None:
        self.changed.emit(self.current_filter(), self.current_sort())

    def current_filter(self) -> FrameFilter:
        return self.filter_box.currentData()

    def current_sort(self) -> FrameSort:
        return self.sort_box.currentData()

    def set_filter(self, key: str) -> None:
        for i in range(self.filter_box.count()):
            if self.filter_box.itemData(i).key == key:
                self.filter_box.setCurrentIndex(i)
                return
        raise ValueError(f"unknown filter {key!r}")

    def set_sort(self, key: str, descending: bool = False) -> None:
        for i in range(self.sort_box.count()):
            s = self.sort_box.itemData(i)
            if s.key == key and s.descending == descending:
                self.sort_box.setCurrentIndex(i)
                return
        raise ValueError(f"unknown sort {key!r}")

    def set_count(self, shown: int, total: int) -> None:
        self.count.setText(f"{shown:,} of {total:,} frames shown" if shown != total
                           else f"{total:,} frames")


class ReviewBar(QWidget):
    """What the review grid shows: every frame with a code, a reason or a suggestion."""

    changed = Signal(dict)  # keyword arguments for views.review_frames

    def __init__(self, parent=None):
        super().__init__(parent)
        self.box = QComboBox()
        for c, n in CODES.items():
            self.box.addItem(f"Code {c} {n}", {"code": c})
        for r in REASONS:
            self.box.addItem(f"Deleted: {style.REASON_WORDS.get(r, r)}", {"reason": r})
        for r in SUGGESTED_REASONS:
            self.box.addItem(f"Suggested: {style.REASON_WORDS.get(r, r)}", {"suggested": r})
        self.count = QLabel()
        self.refresh_button = QPushButton("Refresh")
        self.box.setToolTip("What the review grid shows (Ctrl+F opens this list here)")
        own_popup_keys(self.box)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(QLabel("Every frame, across clips, with"))
        layout.addWidget(self.box)
        layout.addWidget(self.refresh_button)
        layout.addStretch(1)
        layout.addWidget(self.count)
        layout.addWidget(QLabel("Double-click: open in its clip"))
        self.box.currentIndexChanged.connect(lambda _i: self.changed.emit(self.query()))
        self.refresh_button.clicked.connect(lambda: self.changed.emit(self.query()))

    def query(self) -> dict:
        return dict(self.box.currentData())

    def set_query(self, **query) -> None:
        for i in range(self.box.count()):
            if self.box.itemData(i) == query:
                self.box.setCurrentIndex(i)
                return
        raise ValueError(f"no review view for {query}")


class LegendBar(QLabel):
    """The seven codes in their colours and the flag letters."""

    def __init__(self, parent=None):
        super().__init__(parent)
        chips = []
        for c, n in CODES.items():
            bg = style.CODE_COLORS[c]
            chips.append(f"<span style='background:{bg.name()}; color:{style.text_color_on(bg).name()}'"
                         f">&nbsp;<b>{c}</b> {n}&nbsp;</span>")
        flags = " ".join(f"<b>{letter}</b> {LEGEND_WORDS.get(reason, reason)}"
                         for reason, letter in style.REASON_LETTERS.items())
        self.setText(
            "&nbsp;".join(chips)
            + f"&nbsp;&nbsp; <span style='color:{style.DELETED_COLOR.name()}'>deleted:</span> {flags}"
            + f" &nbsp;<span style='color:{style.SUGGESTED_COLOR.name()}'>?X suggested</span>"
            + f" &nbsp;<span style='color:{style.IRRELEVANT_COLOR.name()}'>irrelevant</span>"
            + f" &nbsp;<span style='color:{style.DISPUTE_COLOR.name()}'>≠ disagreement</span>"
            + f" &nbsp;<span style='color:{style.CUT_COLOR.name()}'>▌cut</span>")
        # one line: too narrow a window cuts the end off rather than wrapping the strip up
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setToolTip("Codes 1-7 (keys 1-7); deletion reasons: A misaligned face, I "
                        "incomplete face, B blur, O other (Del); S accepts suggestions; X "
                        "irrelevant; F fills forward")


#: The legend's words for the deletion reasons (the store's names are for files).
LEGEND_WORDS = {"alignment_failure": "misaligned", "incomplete": "incomplete", "blur": "blur",
                "other": "other"}
