"""Jobs in the window: one at a time on the JobRunner, and what to re-read while they run.

A job says what it changes with a `JobTarget` (a clip's frames, some frames, the clip list), so
the window re-reads just that as progress comes and when the job ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication

from feasstm_gui.ui import pipeline_adapter as pipeline
from feasstm_gui.ui.controller import Controller, guarded
from feasstm_gui.ui.dialogs import RealignDialog, show_error, show_message
from feasstm_gui.ui.workers import JobFactory, JobOutcome


@dataclass(frozen=True)
class JobTarget:
    """What a job changes. `frames`: these frames (repainted as it goes, then their clip
    reloaded); else `clip`: that clip's frames (reloaded now and then while it is shown);
    `clips`: clips are added or change (the clip list refreshed as it goes). After any job the
    clip list is read again."""

    clip: str | None = None
    frames: tuple[int, ...] = ()
    clips: bool = False

    @classmethod
    def of_clip(cls, clip: str) -> JobTarget:
        return cls(clip=clip)

    @classmethod
    def of_frames(cls, clip: str | None, frame_ids: list[int]) -> JobTarget:
        return cls(clip=clip, frames=tuple(frame_ids))

    @classmethod
    def new_clips(cls) -> JobTarget:
        return cls(clips=True)


class JobController(Controller):
    """Starts the window's jobs and keeps the window up to date while they run."""

    def __init__(self, window):
        super().__init__(window)
        self.runner = window.runner
        self.target = JobTarget()
        self._owned = False  # the running job is the window's (tools run theirs on the runner)
        parent: QObject = window
        self._reload_timer = QTimer(parent)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.timeout.connect(lambda: window.reload_clip(keep=True))
        self._clips_refresh_ms = 0.0  # what the last refresh of the clip list took
        self._clips_timer = QTimer(parent)
        self._clips_timer.setSingleShot(True)
        self._clips_timer.timeout.connect(self._refresh_clips_during_job)
        self.runner.progressed.connect(self._progress)
        self.runner.finished.connect(self._finished)

    def start(self, title: str, factory: JobFactory, target: JobTarget | None = None) -> bool:
        """Run a core job generator on the worker; one at a time."""
        if self.runner.busy:
            self.status(f"Wait for '{self.runner.title}' to finish, or cancel it", 5000)
            return False
        self.target = target or JobTarget()
        started = self._owned = self.runner.start(title, factory)
        self.window.status_info.update_empty_text()
        return started

    def cancel(self) -> None:
        self.runner.cancel()

    def stop(self) -> None:
        """Cancel the running job and wait for it (the project is about to close)."""
        self._reload_timer.stop()
        self._clips_timer.stop()
        if self.runner.busy:
            self.runner.cancel()
            self.wait()

    @staticmethod
    def wait(msecs: int = 10000) -> None:
        QThreadPool.globalInstance().waitForDone(msecs)
        QApplication.processEvents()

    # -- the window while a job runs ---------------------------------------------------------

    def _progress(self, _progress) -> None:
        w, t = self.window, self.target
        if w.store is None or not self._owned:
            return
        if t.frames:
            w.refresh_frames(t.frames)
        elif t.clip is not None and t.clip == w.clip_id:
            if not self._reload_timer.isActive():
                big = len(w.strip_model.frames()) > 20_000
                self._reload_timer.start(2000 if big else 500)
        elif t.clips and not self._clips_timer.isActive():
            # new clips and their counts, as they come; at most 2 % of the GUI thread's time
            # (re-reading the clip list of a 100,000-frame project takes about 80 ms)
            self._clips_timer.start(max(2000, int(50 * self._clips_refresh_ms)))

    def _refresh_clips_during_job(self) -> None:
        w = self.window
        if w.store is None or not self.runner.busy:
            return
        started = time.perf_counter()
        try:
            w.load_clips_keep()
            w.select_first_clip_if_none()
        except Exception as exc:  # noqa: BLE001
            self.report_error(exc)
        self._clips_refresh_ms = (time.perf_counter() - started) * 1000

    def _finished(self, outcome: JobOutcome) -> None:
        w, t = self.window, self.target
        self._reload_timer.stop()
        self._clips_timer.stop()
        if not self._owned:
            return  # a tool's job: the tool reports it
        self._owned = False
        if w.store is not None:
            try:
                if t.frames:
                    w.refresh_frames(t.frames)
                    if t.clip == w.clip_id:
                        w.reload_clip(keep=True)
                else:
                    w.load_clips_keep()
                    w.select_first_clip_if_none()
            except Exception as exc:  # noqa: BLE001
                self.report_error(exc)
        if outcome.error is not None:
            show_error(w, outcome.error, outcome.title)
            return
        result = outcome.result
        done = result.done if result else 0
        problems = result.problems if result else []
        if outcome.cancelled:
            msg = f"{outcome.title}: cancelled after {done}; what was done is kept"
        else:
            msg = f"{outcome.title}: done ({done})" + (f", {result.summary}"
                                                      if result and result.summary else "")
        self.status(msg, 8000)
        if problems:
            lines = "\n".join(str(p) for p in problems[:200])
            show_message(w, outcome.title, f"{len(problems)} problem(s) were reported. "
                         "The frames concerned are marked in the strip.", lines)

    # -- the Faces menu ----------------------------------------------------------------------

    def _clip_job(self, title: str, job) -> None:
        if self.store is None or self.window.clip_id is None:
            return
        store, clip = self.store, self.window.clip_id
        self.start(title.format(clip=clip), lambda: job(store, clip), JobTarget.of_clip(clip))

    @guarded
    def extract_clip(self) -> None:
        self._clip_job("Extracting frames of {clip}", pipeline.extract_job)

    @guarded
    def align_clip(self) -> None:
        self._clip_job("Aligning faces of {clip}", pipeline.align_job)

    @guarded
    def process_clip(self) -> None:
        """Extract and align the current clip in one pass."""
        self._clip_job("Extracting and aligning {clip}",
                       lambda store, clip: pipeline.process_job(store, [clip]))

    @guarded
    def process_all(self) -> None:
        """Extract and align every clip not finished yet, one after the other."""
        if self.store is None:
            return
        from feasstm_gui.core.ingest.pipeline import unfinished_clips

        todo = unfinished_clips(self.store)
        if not todo:
            self.status("Every clip is already extracted and aligned", 5000)
            return
        store = self.store
        self.start(f"Extracting and aligning {len(todo)} clip(s)",
                   lambda: pipeline.process_job(store, todo), JobTarget.new_clips())

    @guarded
    def realign_selected(self) -> None:
        w = self.window
        frames = w.active_view().selected_frames()
        if not frames or self.store is None:
            self.status("Select the frames to re-align first")
            return
        drawn = w.preview.fix_mode and w.preview.row is not None
        dlg = RealignDialog(w, len(frames), drawn)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def go() -> None:
            options = dlg.options()
            if dlg.use_drawn.isChecked():
                box, landmarks = w.preview.drawn()
                options.update(box=box, landmarks=landmarks)
                w.preview.end_fix()
            self.start_realign([f.id for f in frames], options)

        dlg.accepted.connect(go)
        dlg.open()

    def start_realign(self, frame_ids: list[int], options: dict) -> bool:
        store = self.store
        if store is None:
            return False
        return self.start(f"Re-aligning {len(frame_ids)} frame(s)",
                          lambda: pipeline.realign_job(store, frame_ids, options),
                          JobTarget.of_frames(self.window.clip_id, frame_ids))

    def toggle_fix_mode(self) -> None:
        w = self.window
        w.flush_preview()
        if w.preview.fix_mode:
            w.preview.end_fix()
        elif not w.preview.begin_fix():
            self.status("Select a frame with a source image to draw on")
        else:
            w.preview_dock.show()
            self.status("Drag the box corners and the landmarks, then 'Re-align with this box "
                        "and landmarks'", 6000)

    def fix_applied(self, frame_id: int, box, landmarks) -> None:
        self.start_realign([frame_id], {"box": box, "landmarks": landmarks})

    @guarded
    def mark_actor(self) -> None:
        w = self.window
        if self.store is None:
            return
        w.flush_preview()
        row = w.preview.row
        if row is None:
            self.status("Select the frame that shows the actor first")
            return
        box, _ = w.preview.drawn()
        store = self.store
        self.start(f"Following the actor from frame {row.frame_index}",
                   lambda: pipeline.actor_job(store, row.id, box), JobTarget.of_clip(row.clip))
