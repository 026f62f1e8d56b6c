"""The review grid a page at a time (issue 19: across 16,000 clips and a million frames the
first page shows in under a second). `install(window)` adds a "More frames" button to the
review bar; the window's `load_review` calls `load`. Scrolling to the end of the grid, or the
button, reads the next pages (views.review_frames(after=)), the current frame and the scroll
position kept."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QPushButton

from feasstm_gui.core.store import views

#: Frames in the first page; each further read takes MORE_PAGES pages.
PAGE = 2000
MORE_PAGES = 5


class ReviewPager(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._query: dict = {}
        self._rows: list = []
        self.more_available = False
        self.more_button = QPushButton("More frames")
        self.more_button.setObjectName("review-more")
        self.more_button.setToolTip("Read the next frames (scrolling to the end does too)")
        self.more_button.setEnabled(False)
        self.more_button.clicked.connect(self.more)
        bar = window.review_bar
        bar.layout().insertWidget(bar.layout().indexOf(bar.refresh_button) + 1, self.more_button)
        window.review.verticalScrollBar().valueChanged.connect(self._scrolled)

    def load(self, query: dict) -> None:
        """The first page of what the review bar asks for."""
        w = self.window
        self._query = dict(query)
        if w.session is None:
            self._rows, self.more_available = [], False
            w.review_model.set_frames([], "")
            self._show_count()
            return
        rows = w.session.review_rows({**self._query, "limit": PAGE + 1})
        self.more_available = len(rows) > PAGE
        self._rows = rows[:PAGE]
        w.review_model.set_frames(self._rows, str(w.store.folder))
        self._show_count()
        if self._rows:
            w.review.go_to_row(0)

    def more(self) -> None:
        """The next pages, after the frames shown."""
        w = self.window
        if not self.more_available or not self._rows or w.session is None:
            return
        after = views.review_key(w.store, self._rows[-1])
        n = PAGE * MORE_PAGES
        got = w.session.review_rows({**self._query, "limit": n + 1, "after": after})
        self.more_available = len(got) > n
        cur = w.review.current_frame()
        bar = w.review.verticalScrollBar()
        scroll = bar.value()
        self._rows = self._rows + got[:n]
        w.review_model.set_frames(self._rows, str(w.store.folder))
        row = w.review_model.row_of(cur.id) if cur is not None else None
        if row is not None:
            w.review.go_to_row(row)
        bar.setValue(scroll)
        self._show_count()

    def _scrolled(self, value: int) -> None:
        bar = self.window.review.verticalScrollBar()
        if self.more_available and bar.maximum() > 0 and value >= bar.maximum():
            QTimer.singleShot(0, self.more)

    def _show_count(self) -> None:
        n = len(self._rows)
        more = " so far (scroll to the end for more)" if self.more_available else ""
        self.window.review_bar.count.setText(f"{n:,} frames{more}")
        self.more_button.setEnabled(self.more_available)


def install(window) -> ReviewPager:
    return ReviewPager(window)
