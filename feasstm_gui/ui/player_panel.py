"""The player beside the frame strip, and labelling while it plays.

`install(window)` puts a Player dock beside the strip: the strip's current frame follows the
frame on screen, and choosing a frame in the strip seeks the player to it. While the clip
plays, a code key (the registry's label.N keys) labels the frames that pass instead of the
selection: hold it, and the run ends when it comes up; tap it, and the run goes on until the
key is pressed again (or playback stops). Each run is one edit (one undo).
"""

from __future__ import annotations

import bisect
import os
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ingest.full_frames import clip_video
from feasstm_gui.core.labels.live import LabelRun
from feasstm_gui.core.store import FrameRow, Store
from feasstm_gui.core.vocab import CODES
from feasstm_gui.ui.player import Player, StoredFrame

#: A key up sooner than this after it went down was a tap: the run goes on until pressed again.
TAP_MS = 300
#: A key up counts only when no press of the same key follows within this time: where the
#: platform does not mark a held key's repeats, each repeat is an up and a down at once.
REPEAT_GAP_MS = 80


def stored_frames(folder: Path, rows: list[FrameRow]) -> list[StoredFrame]:
    """What the player shows when the video cannot be played: the extracted frame, else the
    crop, by source index."""
    base = os.path.join(str(folder), "")  # strings, not Paths: 100,000 frames in a few ms
    return [StoredFrame(r.frame_index, base + (r.image or r.crop), bool(r.image))
            for r in rows if r.image or r.crop]


def clip_span(fps: float | None, start_s: float | None, end_s: float | None
              ) -> tuple[int | None, int | None]:
    """First and last source index of the clip's segment of its video (None: from the start,
    to the end)."""
    if not fps or fps <= 0:
        return None, None
    try:
        from feasstm_gui.core.ingest.media import frame_range  # OpenCV: not at start-up

        first, stop = frame_range(fps, start_s, end_s)
    except FeasstmError:
        return None, None
    return first, (stop - 1 if stop is not None else None)


def load_player(player: Player, store: Store, clip_id: str, rows: list[FrameRow]) -> None:
    """Give `player` the clip's video (its segment) and, for the fallback, its stored frames."""
    clip = store.clip(clip_id)
    first, last = clip_span(clip.fps, clip.start_s, clip.end_s)
    video = clip_video(store.folder, clip) if clip.source == "video" else None
    player.load(video, clip.fps, stored_frames(store.folder, rows), first, last)


class PlayerPanel(QObject):
    """The player dock of the main window and the label-while-playing runs."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.player = Player()
        self.player.setObjectName("player")
        self.dock = QDockWidget("Player", window)
        self.dock.setObjectName("player-dock")
        self.dock.setWidget(self.player)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.tabifyDockWidget(window.preview_dock, self.dock)
        window.preview_dock.raise_()
        self.run: LabelRun | None = None
        self._held = False
        self._released: tuple[float, set[int]] | None = None  # when the key came up, and what
        self._release_timer = QTimer(self, singleShot=True, interval=REPEAT_GAP_MS)
        self._release_timer.timeout.connect(self._release_confirmed)
        self._swallow: int | None = None  # a code key held past the end of its run
        self._pressed_at = 0.0
        self._following = False  # the strip is being moved to follow the player
        self._seeking = False  # the next frame shown comes from a seek (not playing on)
        self._run_rows: list[FrameRow] = []
        self._id_at: dict[int, int] = {}  # source index -> frame id (the strip's clip)
        self._indices: list[int] = []
        self._indexed = True  # _id_at and _indices are those of the strip's frames
        self._clip: str | None = None
        self.player.frame_shown.connect(self._on_frame_shown)
        self.player.notice.connect(self._notice)
        self.player.playing_changed.connect(self._on_playing)
        window.clip_changed.connect(self._load)
        window.strip.current_frame_changed.connect(self._on_strip_current)
        window.strip_model.modelReset.connect(self._rows_changed)
        window.project_changed.connect(lambda: self._load(window.clip_id or ""))
        self.dock.visibilityChanged.connect(self._on_visible)

    # -- loading -----------------------------------------------------------------------------

    def shown(self) -> bool:
        """Whether the player is on screen: its dock open and, in the tab group it shares with
        the preview, the tab in front (a dock behind another tab still counts as visible to
        Qt). Hidden, it neither loads clips nor follows the strip, which keeps opening a clip
        and labelling as fast as without it."""
        return self.dock.isVisible() and not self.player.visibleRegion().isEmpty()

    def _on_visible(self, visible: bool) -> None:
        if not visible:
            self.player.pause()
        # the tab's geometry is settled once the event loop has run
        QTimer.singleShot(0, self._catch_up)

    def _catch_up(self) -> None:
        """Shown again: the clip of the window, at the strip's current frame."""
        if not self.shown():
            return
        if self._clip != (self.window.clip_id or None):
            self._load(self.window.clip_id or "")
        self._on_strip_current(self.window.strip.current_frame())

    def _load(self, clip_id: str) -> None:
        self.stop_run()
        store = self.window.store
        if store is None or not clip_id:
            self._clip = None
            self.player.unload()
            return
        if not self.shown():
            self._clip = None  # loaded when shown: opening a clip stays as fast as before
            self.player.unload()
            return
        self._clip = clip_id
        self._index_rows()
        load_player(self.player, store, clip_id, self.window.strip_model.frames())

    def _index_rows(self) -> None:
        self._id_at = {r.frame_index: r.id for r in self.window.strip_model.frames()}
        self._indices = sorted(self._id_at)
        self._indexed = True

    def _rows_changed(self) -> None:
        """The strip read its frames again: indexed when the player next needs them (opening a
        clip with the player hidden walks no frames for it)."""
        self._indexed = False

    def _notice(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

    # -- strip <-> player ----------------------------------------------------------------------

    def _row_at(self, index: int) -> int | None:
        """The strip row of the stored frame at source index `index`, or the last before it."""
        if not self._indexed:
            self._index_rows()
        i = bisect.bisect_right(self._indices, index) - 1
        return self.window.strip_model.row_of(self._id_at[self._indices[i]]) if i >= 0 else None

    def _on_frame_shown(self, index: int) -> None:
        if self.run is not None:
            self.run.moved(index, jump=self._seeking)
            self._show_run()
        self._seeking = False
        strip = self.window.strip
        if self.window.active_view() is not strip:
            return
        r = self._row_at(index)
        cur = strip.currentIndex()
        if r is not None and (not cur.isValid() or cur.row() != r):
            self._following = True
            try:
                strip.go_to_row(r)
            finally:
                self._following = False

    def _on_strip_current(self, row: FrameRow | None) -> None:
        if self._following or row is None or not self.shown():
            return
        if row.clip != self._clip:
            return
        if row.frame_index != self.player.index:
            self._seeking = True
            self.player.seek(row.frame_index)

    # -- label while playing -------------------------------------------------------------------

    def label_key(self, code: int | None) -> bool:
        """A code key went down. True when it belongs to a run (the window then does not label
        the selection): the player is playing, or a run is on."""
        if code is None or code not in CODES:
            return False
        if code == self._swallow:
            return True  # still held after its run ended with the playback: not a new press
        if self.run is not None:
            if self.run.code == code and self._held:
                self._release_timer.stop()  # the key up just before was a repeat's
                self._released = None
                return True  # the key repeating while held
            same = self.run.code == code
            self.stop_run()
            if same:
                return True  # tapped again: the run ended
        if not self.player.playing or self.window.store is None or self._clip is None:
            return False
        self.run = LabelRun(code)
        self.run.start(self.player.index)
        # the run's clip: its rows stay the run's even if another clip is opened meanwhile
        self._run_rows = self.window.strip_model.frames()
        self._held = True
        self._pressed_at = time.monotonic()
        QApplication.instance().installEventFilter(self)
        self._show_run()
        return True

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() != QEvent.Type.KeyRelease or event.isAutoRepeat():
            return False
        if self._swallow is not None and self._is_code_key(event.key(), self._swallow):
            self._swallow = None
            if self.run is None:
                QApplication.instance().removeEventFilter(self)
        elif (self.run is not None and self._held and self._released is None
                and self._is_code_key(event.key(), self.run.code)):
            self._released = (time.monotonic(), set(self.run.passed))
            self._release_timer.start()
        return False

    def _release_confirmed(self) -> None:
        """The key stayed up. Soon after it went down: a tap, the run goes on until the key is
        pressed again. Else the run ends with the frames that had passed when it came up."""
        if self.run is None or self._released is None:
            return
        (at, passed), self._released = self._released, None
        self._held = False
        if (at - self._pressed_at) * 1000 >= TAP_MS:
            self.run.passed = passed
            self.stop_run()
        else:
            self._show_run()

    def _is_code_key(self, key: int, code: int) -> bool:
        action = self.window.actions.get(f"label.{code}")
        if action is None:
            return False
        for seq in action.shortcuts():
            if seq.count() and seq[0].key() == Qt.Key(key):
                return True
        return QKeySequence(key).toString() == str(code)

    def _on_playing(self, playing: bool) -> None:
        if not playing:
            self.stop_run()

    def _show_run(self) -> None:
        run = self.run
        if run is None or run.span is None:
            return
        a, b = run.span
        how = "release the key" if self._held else "press it again"
        self.window.statusBar().showMessage(
            f"Labelling {run.code} {CODES[run.code]} while playing: frames {a}-{b} "
            f"({how} to stop)")

    def stop_run(self) -> list[int]:
        """End the run: label its frames (one edit). Returns the frame ids labelled."""
        run, self.run = self.run, None
        self._release_timer.stop()
        self._released = None
        if run is None:
            return []
        if self._held:
            self._swallow = run.code  # the key is still down: its repeats label nothing
        self._held = False
        app = QApplication.instance()
        if app is not None and self._swallow is None:
            app.removeEventFilter(self)
        store = self.window.store
        if store is None or run.span is None:
            return []
        frames = run.frames(self._run_rows)
        self._run_rows = []
        a, b = run.span
        if not frames:
            self.window.statusBar().showMessage(
                f"Frames {a}-{b}: none shows the actor's face, nothing labelled", 6000)
            return []
        ids = [f.id for f in sorted(frames, key=lambda f: f.frame_index)]
        session = getattr(self.window, "session", None)
        who = session.annotator if session is not None else self.window.annotator
        store.set_labels(ids, run.code, annotator=who,
                         description=f"label {run.code} ({CODES[run.code]}) while playing, "
                                     f"frames {a}-{b}")
        self.window.refresh_frames(ids)
        self.window.statusBar().showMessage(
            f"{len(ids)} frame(s) {a}-{b}: {run.code} {CODES[run.code]}", 4000)
        return ids

    # -- actions (the registry's play.* keys) --------------------------------------------------

    def command(self, what: str) -> None:
        p = self.player
        self.dock.show()
        self.dock.raise_()  # in front of the preview it shares a tab group with
        {"toggle": p.toggle, "back": lambda: p.step(-1), "forward": lambda: p.step(1),
         "slower": lambda: p.change_rate(-1), "faster": lambda: p.change_rate(1),
         "loop": self.toggle_loop}[what]()

    def toggle_loop(self) -> None:
        """Loop the selected frames (two or more), else the whole clip; again: no loop."""
        if self.player.loop is not None:
            self.player.set_loop(None)
            return
        frames = self.window.strip.selected_frames()
        if len(frames) > 1:
            idx = [f.frame_index for f in frames]
            self.player.set_loop(min(idx), max(idx))
        else:
            self.player.set_loop(*self.player.range)


def install(window) -> PlayerPanel:
    """Add the player dock to the main window (called once from MainWindow.__init__)."""
    return PlayerPanel(window)


def smoke_play(window, app, seconds: float = 1.5) -> str:
    """The bundle's smoke test: play the current clip's video in the player dock for a moment
    (QtMultimedia and its FFmpeg plugin must be in the bundle). Returns what happened, starting
    'played' when frames advanced from the video itself."""
    panel: PlayerPanel = window.player_panel
    panel.dock.show()
    panel.dock.raise_()
    player = panel.player
    end = time.monotonic() + 10
    while time.monotonic() < end and player.mode == "video" and player.index < 0:
        app.processEvents()
        time.sleep(0.01)
    if player.mode != "video":
        return f"no video played ({player.reason or 'the clip has no video'})"
    first = player.index
    player.play()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    player.pause()
    if player.index <= first:
        return f"the video did not advance (frame {player.index})"
    sound = "with sound" if player.has_sound else "without sound (no sound device)"
    return f"played frames {first}-{player.index} of the video {sound}"

