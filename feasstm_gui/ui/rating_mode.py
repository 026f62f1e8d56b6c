"""Rating mode: one rater works through their group's clips (FEASSTM-ASA).

For each clip: a player over the extracted frames (PySide6-Essentials has no QtMultimedia, so
the frames are shown at the source rate, from their time stamps), the clip's face strip to
pick exactly 5 frames from, a free-text description and the score (keys 1-5, anchor words
shown). Every change is committed at once and is an undo step of the rater, so a rater can stop
at any moment and resume later. Blind: the dialog reads and shows only this rater's rating.

Keys (while the description does not have the focus; by default, as they are actions of the
RATING scope in ui/actions.py, remappable in the keymap editor): 1-5 score, Space play/pause,
, and . step one frame, P pick/unpick the strip's current frame, Ctrl+Return complete the
rating, Ctrl+Z / Ctrl+Shift+Z undo / redo the rater's last step, PgDown/PgUp next/previous clip.
The player's frames are decoded off the GUI thread (ui/thumbs.ImageLoader).

RatingGroupsDialog sets the rating up: clips in groups, raters in groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.ratings import asa
from feasstm_gui.core.store import FrameRow, Store
from feasstm_gui.core.store import ratings as rdb
from feasstm_gui.core.vocab import SCORES
from feasstm_gui.ui import actions as act
from feasstm_gui.ui.thumbs import Failed, ImageLoader, Loaded

#: Milliseconds the description waits after the last key before it is committed.
DESCRIPTION_COMMIT_MS = 1500
PICKED_COLOR = QColor("#f1c40f")
#: Raters per group in the published FEASSTM-ASA (a hint only: any number is allowed).
DEFAULT_RATERS_PER_GROUP = 4
_DONE, _STARTED, _TODO = "✓", "…", "·"


@dataclass
class PlayerFrame:
    frame_id: int
    frame_index: int
    time_ms: float | None
    path: str


def player_frames(store: Store, rows: list[FrameRow]) -> list[PlayerFrame]:
    """The frames the player shows: the extracted frame, or the crop when there is none."""
    out = []
    for r in rows:
        rel = r.image or r.crop
        if rel:
            out.append(PlayerFrame(r.id, r.frame_index, r.time_ms, str(store.folder / rel)))
    return out


class ClipPlayer(QWidget):
    """Plays a clip's frames at the source rate: each frame stays up until the next one's time
    stamp (or 1/fps when frames have none). Play, pause, step, seek. Frames are decoded by
    `loader` off the GUI thread; until a frame is ready the previous one stays up."""

    position_changed = Signal(int)  # frame id shown
    #: frames decoded ahead of the one shown, so playing does not wait for the decoder
    READ_AHEAD = 3

    def __init__(self, parent: QWidget | None = None, loader: ImageLoader | None = None):
        super().__init__(parent)
        self._frames: list[PlayerFrame] = []
        self._pos = 0
        self._fps = 25.0
        self.loader = loader or ImageLoader(max_bytes=64 << 20, max_side=1600, threads=1,
                                            max_pending=8, parent=self)
        self.loader.ready.connect(self._on_ready)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._advance)
        self.screen = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.screen.setMinimumSize(320, 240)
        self.screen.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.screen.setStyleSheet("background: black; color: #bbb")
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.toggle)
        back = QPushButton("◀ Step")
        back.clicked.connect(lambda: self.step(-1))
        forward = QPushButton("Step ▶")
        forward.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self.seek)
        self.time_label = QLabel("")
        controls = QHBoxLayout()
        for w in (back, self.play_button, forward, self.slider, self.time_label):
            controls.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.screen, 1)
        layout.addLayout(controls)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def position(self) -> int:
        return self._pos

    def current_frame(self) -> PlayerFrame | None:
        return self._frames[self._pos] if self._frames else None

    def set_frames(self, frames: list[PlayerFrame], fps: float | None) -> None:
        self.pause()
        self._frames = frames
        self._fps = fps if fps and fps > 0 else 25.0
        self._pos = 0
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(len(frames) - 1, 0))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self._show()

    def interval_ms(self, pos: int) -> int:
        """How long frame `pos` stays up: until the next frame's time stamp."""
        here, nxt = self._frames[pos], self._frames[min(pos + 1, len(self._frames) - 1)]
        if here.time_ms is not None and nxt.time_ms is not None and nxt.time_ms > here.time_ms:
            return max(1, min(int(round(nxt.time_ms - here.time_ms)), 2000))
        return max(1, int(round(1000.0 / self._fps)))

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if len(self._frames) < 2:
            return
        if self._pos >= len(self._frames) - 1:
            self.seek(0)
        self._timer.start(self.interval_ms(self._pos))
        self.play_button.setText("Pause")

    def pause(self) -> None:
        self._timer.stop()
        self.play_button.setText("Play")

    def step(self, n: int) -> None:
        self.pause()
        self.seek(self._pos + n)

    def seek(self, pos: int) -> None:
        if not self._frames:
            return
        pos = max(0, min(int(pos), len(self._frames) - 1))
        if pos == self._pos and self.slider.value() == pos:
            return
        self._pos = pos
        self.slider.blockSignals(True)
        self.slider.setValue(pos)
        self.slider.blockSignals(False)
        self._show()

    def seek_frame(self, frame_id: int) -> None:
        for i, f in enumerate(self._frames):
            if f.frame_id == frame_id:
                self.pause()
                self.seek(i)
                return

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self._frames:
            self._show()

    def _advance(self) -> None:
        if self._pos >= len(self._frames) - 1:
            self.pause()
            return
        self.seek(self._pos + 1)
        if self._pos < len(self._frames) - 1:
            self._timer.start(self.interval_ms(self._pos))
        else:
            self.pause()

    def _show(self) -> None:
        frame = self.current_frame()
        if frame is None:
            self.screen.setPixmap(QPixmap())
            self.screen.setText("no frames to play")
            self.time_label.setText("")
            return
        self._paint(frame)
        for ahead in self._frames[self._pos + 1:self._pos + 1 + self.READ_AHEAD]:
            if self.loader.peek(ahead.path) is None:
                self.loader.request(ahead.path)
        t = f"{frame.time_ms / 1000:.2f} s  " if frame.time_ms is not None else ""
        self.time_label.setText(f"{t}frame {frame.frame_index} "
                                f"({self._pos + 1}/{len(self._frames)})")
        self.position_changed.emit(frame.frame_id)

    def _paint(self, frame: PlayerFrame) -> None:
        loaded = self.loader.get(frame.path)
        if loaded is None:
            return  # decoding: the previous frame stays up until _on_ready
        if isinstance(loaded, Failed):
            self.screen.setPixmap(QPixmap())
            self.screen.setText(f"cannot read {Path(frame.path).name}")
        else:
            self.screen.setPixmap(loaded.pixmap.scaled(
                self.screen.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    def _on_ready(self, path: str) -> None:
        frame = self.current_frame()
        if frame is not None and frame.path == path:
            self._paint(frame)


class RatingDialog(QDialog):
    """Rating mode for one rater. `rater`: fixed rater (blind: the combo is locked); None lets
    the person choose among the registered raters."""

    def __init__(self, store: Store, parent: QWidget | None = None, rater: str | None = None,
                 keymap: act.Keymap | None = None):
        super().__init__(parent)
        self.store = store
        self.keys = act.ScopedKeys(keymap or act.Keymap(None), act.RATING)
        self.crops = ImageLoader(max_bytes=32 << 20, max_side=100, threads=1,
                                 max_pending=100_000, parent=self)
        self.crops.ready.connect(self._on_crop)
        self._crop_items: dict[str, list[QListWidgetItem]] = {}
        self.setWindowTitle("Acting-skill rating")
        self.resize(1200, 800)
        self._clip: str | None = None
        self._frames: dict[int, FrameRow] = {}
        self._loading = False
        self._finished = False
        self._commit_timer = QTimer(self, singleShot=True, interval=DESCRIPTION_COMMIT_MS)
        self._commit_timer.timeout.connect(self.commit_description)
        self._build()
        names = [r.name for r in rdb.raters(store)]
        if rater is None and store.annotator in names:
            rater = store.annotator  # the person at the machine is a rater: blind to others
        self.rater_box.addItems(names if rater is None else [rater])
        self.rater_box.setEnabled(rater is None)
        self._install_keys(self)
        self.rater_box.currentTextChanged.connect(self._on_rater)
        self._on_rater(self.rater_box.currentText())

    # -- building ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.rater_box = QComboBox()
        self.progress_label = QLabel()
        self.progress = QProgressBar()
        top = QHBoxLayout()
        top.addWidget(QLabel("Rater:"))
        top.addWidget(self.rater_box)
        top.addWidget(self.progress_label, 1)
        top.addWidget(self.progress)

        self.queue = QListWidget()
        self.queue.currentItemChanged.connect(self._on_queue)
        self.player = ClipPlayer()
        self.player.position_changed.connect(self._on_player_position)
        self.strip = QListWidget()
        self.strip.setViewMode(QListWidget.ViewMode.IconMode)
        self.strip.setIconSize(QSize(100, 100))
        self.strip.setFlow(QListWidget.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setUniformItemSizes(True)
        self.strip.setMovement(QListWidget.Movement.Static)
        self.strip.setFixedHeight(150)
        self.strip.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.strip.itemDoubleClicked.connect(lambda item: self.toggle_pick(item))
        self.strip.currentItemChanged.connect(self._on_strip_current)

        middle = QWidget()
        mid = QVBoxLayout(middle)
        mid.setContentsMargins(0, 0, 0, 0)
        mid.addWidget(self.player, 1)
        mid.addWidget(QLabel("Face strip: pick the 5 frames that best show the performance "
                             "(P or double-click)"))
        mid.addWidget(self.strip)
        split = QSplitter()
        split.addWidget(self.queue)
        split.addWidget(middle)
        split.addWidget(self._questionnaire())
        split.setSizes([200, 700, 300])

        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.message)

    def _questionnaire(self) -> QWidget:
        box = QGroupBox("Questionnaire")
        grid = QGridLayout(box)
        grid.addWidget(QLabel("Describe the actor's expression changes:"), 0, 0)
        self.description = QPlainTextEdit()
        self.description.textChanged.connect(self._on_description_typed)
        self.description.installEventFilter(self)
        grid.addWidget(self.description, 1, 0)
        grid.addWidget(QLabel("Acting score (keys 1-5):"), 2, 0)
        self.score_group = QButtonGroup(self)
        self.score_group.setExclusive(True)
        for score, words in SCORES.items():
            button = QRadioButton(f"{score}  {words}")
            self.score_group.addButton(button, score)
            grid.addWidget(button, 2 + score, 0)
        self.score_group.idClicked.connect(self.set_score)
        self.picks_label = QLabel()
        grid.addWidget(self.picks_label, 8, 0)
        self.complete_button = QPushButton("Complete rating" + self._hint("rating.complete"))
        self.complete_button.clicked.connect(self.complete)
        self.reopen_button = QPushButton("Reopen")
        self.reopen_button.clicked.connect(self.reopen)
        self.next_button = QPushButton("Next clip" + self._hint("rating.next_clip"))
        self.next_button.clicked.connect(lambda: self.move_clip(1))
        grid.addWidget(self.complete_button, 9, 0)
        grid.addWidget(self.reopen_button, 10, 0)
        grid.addWidget(self.next_button, 11, 0)
        grid.setRowStretch(1, 1)
        return box

    def _hint(self, action_id: str) -> str:
        keys = act.display_keys(self.keys.keymap.keys(action_id))
        return f" ({keys[0]})" if keys else ""

    def _install_keys(self, widget: QWidget) -> None:
        """The dialog's keys reach it from every child except the text editors."""
        for child in widget.findChildren(QWidget):
            if not isinstance(child, (QPlainTextEdit, QLineEdit)):
                child.installEventFilter(self)

    # -- state -------------------------------------------------------------------------------

    @property
    def rater(self) -> str:
        return self.rater_box.currentText()

    @property
    def clip(self) -> str | None:
        return self._clip

    def _on_rater(self, name: str) -> None:
        self.commit_description()
        self.queue.blockSignals(True)
        self.queue.clear()
        self.queue.blockSignals(False)
        self._clip = None
        r = rdb.rater(self.store, name) if name else None
        if r is None:
            self._show_message("No rater: add raters to groups first (feasstm raters PROJECT "
                               "add NAME --group G).", error=True)
            self._load_clip(None)
            return
        clips = rdb.group_clips(self.store, r.group)
        for clip in clips:
            item = QListWidgetItem(clip)
            item.setData(Qt.ItemDataRole.UserRole, clip)
            self.queue.addItem(item)
        self._refresh_queue()
        if not clips:
            self._show_message(f"Group {r.group} has no clips yet.", error=True)
            self._load_clip(None)
            return
        first = next((i for i, c in enumerate(clips)
                      if not rdb.rating(self.store, c, name).completed), 0)
        self.queue.setCurrentRow(first)  # resume at the first clip not yet completed

    def _refresh_queue(self) -> None:
        for i in range(self.queue.count()):
            item = self.queue.item(i)
            clip = item.data(Qt.ItemDataRole.UserRole)
            r = rdb.rating(self.store, clip, self.rater)
            mark = _DONE if r.completed else _STARTED if r.started else _TODO
            item.setText(f"{mark} {clip}")
        done, total = rdb.rater_progress(self.store, self.rater)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        r = rdb.rater(self.store, self.rater)
        group = f" (group {r.group})" if r else ""
        self.progress_label.setText(f"{self.rater}{group}: {done} of {total} clips rated")

    def _on_queue(self, current: QListWidgetItem | None, _previous=None) -> None:
        self.commit_description()
        self._load_clip(current.data(Qt.ItemDataRole.UserRole) if current else None)

    def _load_clip(self, clip: str | None) -> None:
        self._clip = clip
        self._frames = {}
        self.strip.clear()
        self._crop_items = {}  # the items waiting for a face are gone
        if clip is None:
            self.player.set_frames([], None)
            self._show_rating()
            return
        rows = self.store.frames(clip)
        self._frames = {f.id: f for f in rows}
        self.player.set_frames(player_frames(self.store, rows), self.store.clip(clip).fps)
        for f in rows:
            if asa.pickable(f):
                item = QListWidgetItem(str(f.frame_index))
                self._set_crop(item, str(self.store.folder / f.crop))
                item.setData(Qt.ItemDataRole.UserRole, f.id)
                item.setToolTip(f"frame {f.frame_index}")
                self.strip.addItem(item)
        self._show_message("")
        self._show_rating()

    def _set_crop(self, item: QListWidgetItem, path: str) -> None:
        """The item's face, decoded off the GUI thread (set when ready)."""
        loaded = self.crops.get(path)
        if isinstance(loaded, Loaded):
            item.setIcon(QIcon(loaded.pixmap))
        elif loaded is None:
            self._crop_items.setdefault(path, []).append(item)

    def _on_crop(self, path: str) -> None:
        loaded = self.crops.peek(path)
        for item in self._crop_items.pop(path, []):
            if isinstance(loaded, Loaded):
                item.setIcon(QIcon(loaded.pixmap))

    def _show_rating(self) -> None:
        """Show the store's rating of the current clip by this rater (and nothing else)."""
        self._loading = True
        try:
            r = rdb.rating(self.store, self._clip, self.rater) if self._clip else None
            text = r.description if r else ""
            if self.description.toPlainText() != text:
                self.description.setPlainText(text)
            self.score_group.setExclusive(False)
            for button in self.score_group.buttons():
                button.setChecked(r is not None and self.score_group.id(button) == r.score)
            self.score_group.setExclusive(True)
            rank_of = {fid: rank for rank, fid in (r.picks.items() if r else ())}
            for i in range(self.strip.count()):
                item = self.strip.item(i)
                fid = item.data(Qt.ItemDataRole.UserRole)
                rank = rank_of.get(fid)
                index = self._frames[fid].frame_index
                item.setText(f"#{rank}  ({index})" if rank else str(index))
                item.setBackground(QBrush(PICKED_COLOR) if rank else QBrush())
            n = len(rank_of)
            self.picks_label.setText(f"Frames picked: {n} of {asa.N_PICKS}"
                                     + (" (ranks " + ", ".join(map(str, sorted(rank_of.values())))
                                        + ")" if n else ""))
            done = bool(r and r.completed)
            self.complete_button.setEnabled(self._clip is not None and not done)
            self.reopen_button.setEnabled(done)
            for w in (self.description, *self.score_group.buttons()):
                w.setEnabled(self._clip is not None)
        finally:
            self._loading = False
        if self.queue.count():
            self._refresh_queue()

    def _show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c0392b" if error else "")
        self.message.setText(text)

    def _guard(self, action, *args) -> bool:
        """Run a store edit; show its FeasstmError instead of raising."""
        try:
            action(*args)
        except FeasstmError as exc:
            self._show_message(str(exc), error=True)
            return False
        return True

    # -- edits -------------------------------------------------------------------------------

    def set_score(self, score: int) -> None:
        if self._clip is None or self._loading:
            return
        self.commit_description()
        if self._guard(rdb.set_score, self.store, self._clip, self.rater, score):
            self._show_message(f"Score {score} ({SCORES[score]})")
        self._show_rating()

    def _on_description_typed(self) -> None:
        if not self._loading:
            self._commit_timer.start()

    def commit_description(self) -> None:
        """Write the description if it changed (one undo step per pause in typing)."""
        self._commit_timer.stop()
        if self._clip is None or self._loading or self._finished:
            return
        text = self.description.toPlainText()
        if text != rdb.rating(self.store, self._clip, self.rater).description:
            self._guard(rdb.set_description, self.store, self._clip, self.rater, text)
            self._refresh_queue()

    def toggle_pick(self, item: QListWidgetItem | None = None) -> None:
        item = item or self.strip.currentItem()
        if self._clip is None or item is None:
            return
        self.commit_description()
        fid = item.data(Qt.ItemDataRole.UserRole)
        if self._guard(asa.toggle_pick, self.store, self._clip, self.rater, fid):
            self._show_message("")
        self._show_rating()

    def complete(self) -> bool:
        if self._clip is None:
            return False
        self.commit_description()
        if not self._guard(asa.complete_rating, self.store, self._clip, self.rater):
            return False
        self._show_rating()
        self._show_message(f"Rating of {self._clip} completed.")
        self.move_to_next_open()
        return True

    def reopen(self) -> None:
        if self._clip is not None:
            self._guard(rdb.set_completed, self.store, self._clip, self.rater, False)
            self._show_rating()

    def undo(self, redo: bool = False) -> None:
        self.commit_description()
        step = self.store.redo(self.rater) if redo else self.store.undo(self.rater)
        if step is None:
            self._show_message(f"Nothing to {'redo' if redo else 'undo'}.")
        else:
            self._show_message(f"{'Redid' if redo else 'Undid'}: {step.description}")
        self._show_rating()

    def move_clip(self, delta: int) -> None:
        row = self.queue.currentRow() + delta
        if 0 <= row < self.queue.count():
            self.queue.setCurrentRow(row)

    def move_to_next_open(self) -> None:
        """After completing: the next clip this rater has not completed, if any."""
        n = self.queue.count()
        start = self.queue.currentRow()
        for k in range(1, n + 1):
            row = (start + k) % n
            clip = self.queue.item(row).data(Qt.ItemDataRole.UserRole)
            if not rdb.rating(self.store, clip, self.rater).completed:
                self.queue.setCurrentRow(row)
                return
        self._show_message("All clips of the group are rated. Thank you!")

    # -- strip and player ----------------------------------------------------------------------

    def _on_strip_current(self, current: QListWidgetItem | None, _previous=None) -> None:
        if current is not None:
            self.player.seek_frame(current.data(Qt.ItemDataRole.UserRole))

    def _on_player_position(self, frame_id: int) -> None:
        for i in range(self.strip.count()):
            if self.strip.item(i).data(Qt.ItemDataRole.UserRole) == frame_id:
                self.strip.blockSignals(True)
                self.strip.setCurrentRow(i)
                self.strip.blockSignals(False)
                self.strip.scrollToItem(self.strip.item(i))
                return

    # -- keys --------------------------------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.FocusOut and obj is self.description:
            self.commit_description()
        if event.type() == QEvent.Type.KeyPress and obj is not self.description:
            if self.handle_key(event):
                return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def handle_key(self, event: QKeyEvent) -> bool:
        """The key's action in the RATING scope of the keymap, if it has one."""
        return self.keys.handle(self, event)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._finish()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self._finish()
        super().done(result)

    def _finish(self) -> None:
        """Save the description once; after that the dialog writes nothing (the project may be
        closed while the dialog object lives on)."""
        if not self._finished:
            self.commit_description()
            self.player.pause()
            self._finished = True


def open_rating_mode(parent: QWidget | None, store: Store, rater: str | None = None,
                     keymap: act.Keymap | None = None) -> RatingDialog:
    """Open rating mode (non-modal) over `parent`; returns the dialog."""
    dialog = RatingDialog(store, parent, rater, keymap)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


class RatingGroupsDialog(QDialog):
    """Set up the rating: put clips in groups and raters in groups. Groups have 4 raters in
    the published set; any number is allowed. Each change is one undoable step."""

    def __init__(self, store: Store, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Rating groups and raters")
        self.resize(900, 600)

        self.clips = QTableWidget(0, 3)
        self.clips.setHorizontalHeaderLabels(["clip", "actor", "group"])
        self.clips.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.clips.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.clip_group = QComboBox(editable=True)
        put = QPushButton("Put selected clips in group")
        put.clicked.connect(self.put_selected_clips)
        clip_row = QHBoxLayout()
        clip_row.addWidget(put)
        clip_row.addWidget(self.clip_group, 1)
        left = QVBoxLayout()
        left.addWidget(QLabel("Clips (their group also comes from the clip table's group "
                              "column)"))
        left.addWidget(self.clips, 1)
        left.addLayout(clip_row)

        self.raters = QListWidget()
        self.rater_name = QLineEdit(placeholderText="rater name")
        self.rater_group = QComboBox(editable=True)
        add = QPushButton("Add / move rater")
        add.clicked.connect(self.add_rater)
        remove = QPushButton("Remove selected rater")
        remove.clicked.connect(self.remove_selected_rater)
        rater_row = QHBoxLayout()
        rater_row.addWidget(self.rater_name, 1)
        rater_row.addWidget(self.rater_group)
        rater_row.addWidget(add)
        self.summary = QLabel(wordWrap=True)
        right = QVBoxLayout()
        right.addWidget(QLabel("Raters by group"))
        right.addWidget(self.raters, 1)
        right.addLayout(rater_row)
        right.addWidget(remove)
        right.addWidget(self.summary)

        self.message = QLabel(wordWrap=True)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        self.refresh()

    def refresh(self) -> None:
        groups = rdb.groups(self.store)
        clips = self.store.clips()
        self.clips.setRowCount(len(clips))
        for i, c in enumerate(clips):
            for j, text in enumerate((c.id, c.actor, c.group)):
                self.clips.setItem(i, j, QTableWidgetItem(text))
        self.raters.clear()
        for r in rdb.raters(self.store):
            item = QListWidgetItem(f"{r.group}: {r.name}")
            item.setData(Qt.ItemDataRole.UserRole, r.name)
            self.raters.addItem(item)
        for box in (self.clip_group, self.rater_group):
            text = box.currentText()
            box.clear()
            box.addItems(list(groups))
            box.setCurrentText(text)
        lines = []
        for name, (group_clips, names) in groups.items():
            hint = "" if len(names) == DEFAULT_RATERS_PER_GROUP else \
                f" (the published set has {DEFAULT_RATERS_PER_GROUP})"
            lines.append(f"group {name}: {len(group_clips)} clip(s), {len(names)} rater(s){hint}")
        self.summary.setText("\n".join(lines) or "No groups yet.")

    def _run(self, action, *args) -> None:
        try:
            action(*args)
        except FeasstmError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText("")
        self.refresh()

    def put_selected_clips(self) -> None:
        rows = sorted({i.row() for i in self.clips.selectedIndexes()})
        group = self.clip_group.currentText().strip()
        if not rows:
            self.message.setText("Select clips first.")
            return
        ids = {self.clips.item(r, 0).text(): group for r in rows}
        self._run(rdb.set_clip_groups, self.store, ids)

    def add_rater(self) -> None:
        self._run(rdb.set_rater, self.store, self.rater_name.text(),
                  self.rater_group.currentText())

    def remove_selected_rater(self) -> None:
        item = self.raters.currentItem()
        if item is None:
            self.message.setText("Select a rater first.")
            return
        self._run(rdb.remove_rater, self.store, item.data(Qt.ItemDataRole.UserRole))


def open_rating_groups(parent: QWidget | None, store: Store) -> RatingGroupsDialog:
    """Open the groups-and-raters set-up (non-modal) over `parent`; returns the dialog."""
    dialog = RatingGroupsDialog(store, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
