"""The edit commands of the window: the selection in, the session's command, the changed
frames repainted (core/labels/session.py decides what an edit does)."""

from __future__ import annotations

from collections.abc import Callable

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.labels.session import Change
from feasstm_gui.core.store import FrameRow
from feasstm_gui.ui import label_state
from feasstm_gui.ui.controller import Controller, guarded
from feasstm_gui.ui.dialogs import show_message
from feasstm_gui.ui.strip import FrameStripModel


class EditController(Controller):
    """Label, flag, fill, undo: each runs one session command on the active view's
    selection and repaints the frames it returns."""

    def _selected(self) -> list[FrameRow]:
        return self.window.active_view().selected_frames()

    def _run(self, frames: list[FrameRow], command: Callable[[list[FrameRow]], Change],
             msecs: int = 4000) -> Change | None:
        if self.session is None:
            return None
        if not frames:
            self.status("Select one or more frames first")
            return None
        change = command(frames)
        self.window.refresh_frames(change.frames)
        if change.message:
            self.status(change.message, msecs)
        return change

    @staticmethod
    def _ids(frames: list[FrameRow]) -> list[int]:
        return [f.id for f in frames]

    @guarded
    def label_selected(self, code: int | None) -> None:
        """Label the selected frames (None clears), then move to the frame after them. The
        session refuses irrelevant frames (a status-bar message; nothing moves when every
        selected frame was refused). While the player plays, a code key labels the frames that
        pass instead."""
        if self.window.player_panel.label_key(code):
            return
        view = self.window.active_view()
        rows = view.selected_rows()
        change = self._run(view.selected_frames(),
                           lambda fr: self.session.label(fr, code), msecs=4000)
        if change is not None and change.frames and code is not None:
            self._advance_past(rows)

    def _advance_past(self, rows: list[int]) -> None:
        view = self.window.active_view()
        if rows and rows[-1] + 1 < view.model().rowCount():
            view.go_to_row(rows[-1] + 1)

    def _flagged(self, change: Change | None, rows: list[int]) -> None:
        """After a flag key, the frame after the selection, as after a code key (the
        preference advance_after_flag, on by default: ui/label_state.py)."""
        if change is not None and change.count and label_state.advance_after_flag(self.window):
            self._advance_past(rows)

    def _flag(self, command: Callable[[list[FrameRow]], Change]) -> None:
        rows = self.window.active_view().selected_rows()
        self._flagged(self._run(self._selected(), command), rows)

    @guarded
    def toggle_flag(self, reason: str) -> None:
        self._flag(lambda fr: self.session.toggle_flag(self._ids(fr), reason))

    @guarded
    def add_flag(self, reason: str) -> None:
        self._flag(lambda fr: self.session.add_flag(self._ids(fr), reason))

    @guarded
    def restore_frames(self) -> None:
        self._run(self._selected(), lambda fr: self.session.restore(fr))

    @guarded
    def accept_suggestions(self) -> None:
        self._flag(lambda fr: self.session.accept_suggestions(self._ids(fr)))

    @guarded
    def dismiss_suggestions(self) -> None:
        self._run(self._selected(), lambda fr: self.session.dismiss_suggestions(self._ids(fr)))

    @guarded
    def toggle_irrelevant(self) -> None:
        self._flag(lambda fr: self.session.toggle_irrelevant(fr))

    @guarded
    def fill_forward(self) -> None:
        """The current frame's code onto the following unlabelled frames, up to the first
        scene cut, run of faceless or deleted frames, or labelled frame (the session and
        core/labels/fill.py); the status bar says where it stopped and why."""
        w = self.window
        if self.session is None:
            return
        if w.active_view() is not w.strip:
            self.status("Fill forward works in the frame strip")
            return
        cur = w.strip.current_frame()
        if cur is None:
            self.status("The current frame has no label to fill forward")
            return
        model = w.strip_model
        rows = model.frames()
        # the strip's cut marks, and frames in disagreement count as labelled
        change = self.session.fill_forward(rows, model.position_of(cur.id), cuts=model.cuts,
                                           labelled=model.is_labelled,
                                           step=model.typical_step())
        if not change.frames:
            self.status(change.message, 6000)
            return
        w.refresh_frames(change.frames)
        end = rows[change.stop].id if change.stop is not None else change.frames[-1]
        r = model.row_of(end)
        if r is not None:
            w.strip.go_to_row(r)
        self.status(change.message, 8000)

    @guarded
    def select_all(self) -> None:
        self.window.active_view().selectAll()

    # -- undo --------------------------------------------------------------------------------

    @guarded
    def undo(self) -> None:
        self._undo_redo(undo=True)

    @guarded
    def redo(self) -> None:
        self._undo_redo(undo=False)

    def _undo_redo(self, undo: bool) -> None:
        if self.session is None:
            return
        change = self.session.undo() if undo else self.session.redo()
        if change.step is None:
            self.status(change.message, 3000)
            return
        self._show_changed(change.frames)
        self.window.refresh_frames(change.frames)
        self.status(change.message)

    @guarded
    def undo_to(self, batch: int) -> None:
        """Undo the annotator's own steps back to and including step `batch`."""
        if self.session is None:
            return
        change = self.session.undo_to(batch)
        if change is None:
            show_message(self.window, "Undo to here", "That step is not one of your steps that "
                         "can be undone (it is someone else's, already undone, or a log entry).")
            return
        self.window.refresh_frames(change.frames)
        self.status(change.message)

    def _show_changed(self, ids: list[int]) -> None:
        """Bring the frames an undo touched into view (switching clip if needed)."""
        w = self.window
        if not ids or self.store is None:
            return
        view = w.active_view()
        model: FrameStripModel = view.model()
        if not model.has_frame(ids[0]) and view is w.strip:
            try:
                clip, _ = self.store.frame_key(ids[0])
            except FeasstmError:
                return
            w.set_clip(clip)
        rows = [r for i in ids if (r := model.row_of(i)) is not None]
        if rows:
            view.go_to_row(rows[0])
            view.select_rows(rows)
