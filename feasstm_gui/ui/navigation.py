"""Moving around: frames, clips, the next unlabelled frame, the strip and the review grid."""

from __future__ import annotations

from feasstm_gui.ui.controller import Controller, guarded
from feasstm_gui.ui.strip import FrameStripModel

THUMB_SIZES = (64, 80, 96, 128, 160)


class NavigationController(Controller):
    def navigate(self, where: str, extend: bool = False) -> None:
        self.window.active_view().navigate(where, extend)

    @guarded
    def next_unlabelled(self) -> None:
        w = self.window
        if self.session is None:
            return
        view = w.active_view()
        model: FrameStripModel = view.model()
        cur = view.current_frame()
        rows = model.visible_frames() if view is w.review else model.frames()
        start = 0
        if cur is not None:
            start = (rows.index(cur) + 1) if view is w.review else \
                (model.position_of(cur.id) or 0) + 1
        for row in rows[start:]:
            if model.is_unlabelled(row):  # frames in disagreement count as labelled
                if model.row_of(row.id) is None:
                    w.filter_bar.set_filter("all")
                view.go_to_row(model.row_of(row.id))
                return
        if view is w.review:
            self.status("No unlabelled frame after this one here")
            return
        found = self.session.next_unlabelled_clip(w.clip_id)
        if found is None:
            self.status("Every frame of every clip is labelled or deleted", 5000)
            return
        nxt, _ = found
        w.set_clip(nxt)
        # its first frame nobody labelled as the strip sees it (frames in disagreement count
        # as labelled, though they have no final label)
        fid = next((r.id for r in w.strip_model.frames() if w.strip_model.is_unlabelled(r)),
                   None)
        if fid is not None:
            w.go_to_frame(nxt, fid)
        self.status(f"Next clip with unlabelled frames: {nxt}")

    def step_clip(self, step: int) -> None:
        """The next (1) or previous (-1) clip of the clip list."""
        w = self.window
        model = w.clip_model
        n = model.rowCount()
        cur = w.clip_view.currentIndex().row()
        if cur + step >= n and n < model.shown_count():
            model.complete()  # a search's rest not listed yet: the next clip is among it
            n, cur = model.rowCount(), w.clip_view.currentIndex().row()
        if not n:
            return
        target = max(0, min(n - 1, cur + step))
        if target != cur:
            w.clip_view.setCurrentIndex(w.clip_model.index(target))

    def show_review(self) -> None:
        self.window.tabs.setCurrentIndex(1)
        self.window.review.setFocus()

    def show_strip(self) -> None:
        self.window.tabs.setCurrentIndex(0)
        self.window.strip.setFocus()

    def focus_filter(self) -> None:
        """Ctrl+F: the Show list of the tab shown (the Review tab's list of what it lists)."""
        w = self.window
        box = w.review_bar.box if w.tabs.currentIndex() == 1 else w.filter_bar.filter_box
        box.setFocus()
        box.showPopup()

    @guarded
    def refresh_all(self) -> None:
        w = self.window
        if w.tabs.currentIndex() == 1:
            w.load_review(w.review_bar.query())
            return
        w.strip_model.set_view()
        w.load_clips_keep()

    def zoom(self, step: int) -> None:
        cur = self.window.strip.delegate.thumb
        i = min(range(len(THUMB_SIZES)), key=lambda k: abs(THUMB_SIZES[k] - cur))
        self.window.set_thumb_size(THUMB_SIZES[max(0, min(len(THUMB_SIZES) - 1, i + step))])
