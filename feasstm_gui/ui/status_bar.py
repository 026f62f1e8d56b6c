"""What the window tells the annotator without being asked: the status bar's counts, mode and
annotator, what the empty strip says, and images that cannot be shown (each reported once)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel

from feasstm_gui.core.store import FrameRow
from feasstm_gui.ui import actions as act
from feasstm_gui.ui.controller import Controller
from feasstm_gui.ui.style import DELETED_COLOR
from feasstm_gui.ui.workers import JobPanel


class StatusController(Controller):
    def __init__(self, window):
        super().__init__(window)
        self._reported: set[str] = set()
        bar = window.statusBar()
        self.counts_label = QLabel()
        self.annotator_label = QLabel()
        self.mode_label = QLabel()
        self.mode_label.setStyleSheet(f"color:{DELETED_COLOR.name()}; font-weight:bold")
        self.job_panel = JobPanel(window.runner)
        for w in (self.job_panel, self.counts_label, self.mode_label, self.annotator_label):
            bar.addPermanentWidget(w)
        self._counts_timer = QTimer(window)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(100)
        self._counts_timer.timeout.connect(self.show_counts)

    def forget_reported(self) -> None:
        self._reported.clear()

    def update_counts(self) -> None:
        """The status bar's counts, at most every 100 ms (the clip list is exact at once)."""
        if not self._counts_timer.isActive():
            self._counts_timer.start()

    def show_counts(self) -> None:
        w = self.window
        if self.store is None:
            self.counts_label.setText("no project")
            return
        known, n = w.clip_model.totals()  # clips still being counted: "at least"
        more = "" if n == len(w.clip_model.clips()) else "≥ "
        text = (f"project: {more}{known.labelled:,} labelled · {more}{known.flagged:,} deleted "
                f"· {more}{known.total:,} frames")
        if w.clip_id is not None:
            s = w.clip_model.known().get(w.clip_id)  # never counted here: read off this
            if s is None:                            # thread, shown when they come
                text = "clip: counting…   |   " + text
            else:
                text = (f"clip: {s.labelled:,} labelled · {s.flagged:,} deleted · "
                        f"{s.suggested:,} suggested · {s.total:,} frames   |   " + text)
        self.counts_label.setText(text)

    def update_annotator_label(self, blind: bool) -> None:
        note = " (blind pass: your labels only)" if blind else ""
        self.annotator_label.setText(f"annotator: {self.window.annotator}{note}")

    def update_mode(self) -> None:
        store = self.store
        self.mode_label.setText("READ-ONLY" if store is not None and store.read_only else "")

    def _keys_of(self, action_id: str) -> str:
        keys = act.display_keys(self.window.keymap.keys(action_id))
        return f" ({' / '.join(keys)})" if keys else ""

    def update_empty_text(self) -> None:
        """What the empty strip says: the next step, with its keys."""
        w = self.window
        text = ""
        if self.store is not None:
            if not w.clip_model.rowCount():
                text = ("No clips yet.\nFile ▸ Import videos…" + self._keys_of("file.import_videos")
                        + " or File ▸ Import clip table… adds them; or drop video files here.")
            elif w.clip_id is not None and not w.strip_model.frames():
                clip = w.clip_model.clip(w.clip_id)
                if w.runner.busy:
                    text = "Working on it: the frames appear here as they are done."
                elif clip is not None and clip.extract_status == "damaged":
                    text = f"No frame could be read from this clip's video.\n{clip.error or ''}"
                elif clip is None or clip.source == "video":
                    text = ("No frames in this clip yet.\nFaces ▸ Extract and align this clip"
                            + self._keys_of("faces.process") + ", or all unfinished clips"
                            + self._keys_of("faces.process_all") + ".")
                else:
                    text = "This clip has no frames."
            elif w.clip_id is not None:
                text = "No frame matches the filter."
        w.strip.set_empty_text(text)

    def crop_failed(self, row: FrameRow, reason: str) -> None:
        key = f"{row.clip}/{row.crop}"
        if key in self._reported:
            return
        self._reported.add(key)
        self.status(f"Crop of clip '{row.clip}' frame {row.frame_index} cannot be shown "
                    f"({reason}): {row.crop}. Re-align the frame (R) or restore the file.", 15000)

    def image_failed(self, path: str, reason: str) -> None:
        if path not in self._reported:
            self._reported.add(path)
            self.window.setProperty("last_image_problem", f"{path}: {reason}")
