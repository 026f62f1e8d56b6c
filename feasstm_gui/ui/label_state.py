"""What the labelling window adds to the store's final labels (issue 20), kept out of
main_window.py: frames in disagreement (own code, badge, filter, count in the status bar),
scene cuts marked on the strip, a read-only notice for edit keys, and reopening a project at
the clip and frame it was left on. `install(window)` wires it all."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QLabel

from feasstm_gui.core.labels.fill import scene_cut_ids
from feasstm_gui.core.store import FrameRow
from feasstm_gui.core.store import label_state as state
from feasstm_gui.ui.style import DISPUTE_COLOR

#: Settings key: project folder -> [clip id, frame index] last shown.
POSITION_KEY = "last_position"
#: Settings key: flag keys (A, I, B, Del, S, X) move to the next frame, as code keys do.
ADVANCE_KEY = "advance_after_flag"


class LabelStateSource:
    """Answers the strip models' questions about disagreements and cuts from the open store."""

    def __init__(self, window):
        self.window = window

    def _store(self):
        return self.window.store

    def disputes(self, rows: list[FrameRow], whole: bool) -> dict[int, state.Dispute]:
        store = self._store()
        if store is None or not rows:
            return {}
        annotator = self.window.annotator
        if whole:
            if store.is_blind(rows[0].clip):  # a blind pass shows nobody else's labels
                return {}
            return state.disputes(store, clip_id=rows[0].clip, annotator=annotator)
        blind = {c for c in {r.clip for r in rows} if store.is_blind(c)}
        got = state.disputes(store, frame_ids=[r.id for r in rows if r.clip not in blind],
                             annotator=annotator)
        return got

    def cuts(self, rows: list[FrameRow]) -> set[int]:
        store = self._store()
        if store is None or not rows:
            return set()
        return scene_cut_ids(rows, state.cut_marks(store, rows[0].clip))


class DisputeCount(QLabel):
    """'≠ n in disagreement' in the status bar: this clip, and the whole project."""

    def __init__(self, window):
        super().__init__()
        self.window = window
        self._others = 0  # in the project's other clips
        self.setStyleSheet(f"color:{DISPUTE_COLOR.name()}; font-weight:bold")
        self.setToolTip("Frames whose annotators gave different codes: they have no final "
                        "label and the export leaves them out until adjudicated (Tools ▸ "
                        "Adjudicate disagreements). Show ▸ In disagreement lists them.")

    def recount(self) -> None:
        """Sum the other clips' counts again (a clip or project change; the clip list's counts,
        read off the window's thread a chunk at a time: ui/clip_list.py)."""
        w = self.window
        self._others = 0
        if w.store is not None:
            here = w.clip_model.known().get(w.clip_id) if w.clip_id else None
            self._others = w.clip_model.totals()[0].disputed - (here.disputed if here else 0)
        self.update_text()

    def update_text(self) -> None:
        here = self.window.strip_model.open_dispute_count()
        total = here + self._others
        self.setText(f"≠ {here:,} here · {total:,} in project" if total else "")


class _CloseWatcher(QObject):
    def __init__(self, on_close):
        super().__init__()
        self.on_close = on_close

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Close:
            self.on_close()
        return False


class PositionMemory:
    """Remembers the clip and frame shown per project (in the preferences), and goes back to
    them when the project is opened again."""

    def __init__(self, window):
        self.window = window
        self.timer = QTimer(window)
        self.timer.setSingleShot(True)
        self.timer.setInterval(1500)
        self.timer.timeout.connect(self.save)
        self._folder: str | None = None
        self._restoring = False

    def changed(self, *_args) -> None:
        if not self._restoring and self.window.store is not None:
            self.timer.start()

    def save(self) -> None:
        self.timer.stop()
        w = self.window
        if w.store is None or w.clip_id is None:
            return
        cur = w.strip.current_frame()
        folder = str(Path(w.store.folder).resolve())
        saved = dict(w.settings.get(POSITION_KEY, {}) or {})
        value = [w.clip_id, cur.frame_index if cur is not None else None]
        if saved.get(folder) != value:
            saved[folder] = value
            w.settings.set(POSITION_KEY, dict(list(saved.items())[-50:]))

    def project_changed(self) -> None:
        w = self.window
        if w.store is None:
            return
        saved = (w.settings.get(POSITION_KEY, {}) or {}).get(str(Path(w.store.folder).resolve()))
        if not saved or not isinstance(saved, list) or len(saved) != 2:
            return
        clip, index = saved
        if w.clip_model.row_of(clip) is None:
            return
        self._restoring = True
        try:
            w.set_clip(clip)
            for r in range(w.strip_model.rowCount()):
                f = w.strip_model.frame_at(r)
                if f is not None and f.frame_index == index:
                    w.strip.go_to_row(r)
                    break
        finally:
            self._restoring = False


def read_only_notice(window, text: str) -> None:
    """A key typed in the strip that no action took: in a read-only project, say why."""
    if window.store is not None and window.store.read_only and text.strip():
        window.statusBar().showMessage(
            "This project is open read-only: labels and flags cannot be changed here "
            "(another window holds it for writing)", 5000)


def advance_after_flag(window) -> bool:
    return bool(window.settings.get(ADVANCE_KEY, True))


def install(window) -> None:
    """Wire the disagreement and scene-cut state, the status count, the read-only notice and
    the position memory into the main window."""
    source = LabelStateSource(window)
    window.strip_model.state_source = source
    window.review_model.state_source = source
    window.preview.dispute_of = lambda fid: (window.strip_model.disputes.get(fid)
                                             or window.review_model.disputes.get(fid))
    count = DisputeCount(window)
    window.dispute_count = count
    window.statusBar().addPermanentWidget(count)
    window.project_changed.connect(count.recount)
    window.clip_changed.connect(lambda _c: count.recount())
    window.frames_refreshed.connect(count.update_text)
    for view in (window.strip, window.review):
        view.typed.connect(lambda text: read_only_notice(window, text))
    memory = PositionMemory(window)
    window.position_memory = memory
    window.project_changed.connect(memory.project_changed)
    window.clip_changed.connect(memory.changed)
    window.strip.current_frame_changed.connect(memory.changed)
    watcher = _CloseWatcher(memory.save)
    watcher.setParent(window)
    window.installEventFilter(watcher)
