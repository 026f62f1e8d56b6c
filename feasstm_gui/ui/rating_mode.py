"""Rating mode: one rater works through their group's clips (FEASSTM-ASA).

For each clip: a player of the clip's video with its sound (ui/player.py; the stored frames
when the video cannot be played), at 0.25x-2x, with frame steps and a loop; the clip's face
strip to pick exactly 5 frames from (P picks the frame on screen, the strip follows it), a free-text description and the score (keys 1-5, anchor words
shown). Every change is committed at once and is an undo step of the rater, so a rater can stop
at any moment and resume later. Blind: the dialog reads and shows only this rater's rating.

Keys (while the description does not have the focus; by default, as they are actions of the
RATING scope in ui/actions.py, remappable in the keymap editor): 1-5 score, Space play/pause,
, and . step one frame, P pick/unpick the frame shown, D write the description (Tab or Esc
leaves it), Ctrl+Return complete the rating, Ctrl+Z / Ctrl+Shift+Z undo / redo the rater's last
step, PgDown/PgUp next/previous clip; J and L play slower and faster, K loops the clip. The
dialog lists them under the questionnaire, as the keymap binds them (KEYS_HELP). The strip's
crops and the player's frames are decoded off the GUI thread (ui/thumbs.ImageLoader).

On a server project (issue 16) the dialog follows what other sessions do (ui/live_updates.py's
`changed`): a rating made elsewhere (the rater shown, on another workstation; or, for the
researcher choosing a rater, that rater at work) shows at once, the queue's marks and the
progress follow, and clips or raters put in groups elsewhere appear in the queue. Blindness is
unchanged: the dialog still reads only the rater shown. A description being typed is left
alone until it is committed.

RatingGroupsDialog sets the rating up: clips in groups, raters in groups.
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QIcon
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
from feasstm_gui.ui.player import Player
from feasstm_gui.ui.player_panel import load_player
from feasstm_gui.ui.thumbs import ImageLoader, Loaded

#: Milliseconds the description waits after the last key before it is committed.
DESCRIPTION_COMMIT_MS = 1500
PICKED_COLOR = QColor("#f1c40f")
#: Raters per group in the published FEASSTM-ASA (a hint only: any number is allowed).
DEFAULT_RATERS_PER_GROUP = 4
_DONE, _STARTED, _TODO = "✓", "…", "·"
#: The keys, as the dialog lists them under the questionnaire: (actions, words); each {n} is
#: the first key the keymap binds to the n-th action (an entry with an unbound action is left
#: out), so the list follows the keymap editor.
KEYS_HELP: tuple[tuple[tuple[str, ...], str], ...] = (
    (("rating.score_1", "rating.score_5"), "{0}-{1} score"),
    (("rating.play",), "{0} play/pause"),
    (("rating.step_back", "rating.step_forward"), "{0} and {1} step one frame"),
    (("rating.pick",), "{0} pick/unpick the frame shown"),
    (("rating.description",), "{0} write the description (Tab or Esc leaves it)"),
    (("rating.complete",), "{0} complete"),
    (("rating.next_clip", "rating.prev_clip"), "{0}/{1} next/previous clip"),
    (("rating.undo",), "{0} undo"),
)


def keys_help(keymap: act.Keymap) -> str:
    """The rating-mode keys in one line, as `keymap` binds them (KEYS_HELP)."""
    parts = []
    for ids, words in KEYS_HELP:
        keys = [act.display_keys(keymap.keys(i))[:1] for i in ids]
        if all(keys):
            parts.append(words.format(*(k[0] for k in keys)))
    return "Keys: " + " · ".join(parts)


class RatingDialog(act.ScopedKeysMixin, QDialog):
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
        self._strip_indices: list[int] = []  # source index of each strip item
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
        self._fixed_rater = rater is not None
        self._set_up_new_rater(store)
        # a fixed rater is shown; otherwise nobody is chosen for the person at the machine:
        # they pick their name (or add it), never rate as the first name by mistake
        self.rater_box.setCurrentIndex(0 if rater is not None else -1)
        self._install_keys(self)
        self.rater_box.currentTextChanged.connect(self._on_rater)
        self._on_rater(self.rater_box.currentText())

    # -- building ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.rater_box = QComboBox()
        self.progress_label = QLabel()
        self.progress = QProgressBar()
        self.rater_box.setPlaceholderText("choose your name")
        self.rater_box.setMinimumContentsLength(12)
        self.new_rater = QLineEdit(placeholderText="new rater's name")
        self.new_rater_group = QComboBox(editable=True)
        self.new_rater_group.setToolTip("The new rater's group: they rate that group's clips")
        self.add_rater_button = QPushButton("Add rater")
        self.add_rater_button.clicked.connect(self.add_rater)
        top = QHBoxLayout()
        top.addWidget(QLabel("Rater:"))
        top.addWidget(self.rater_box)
        top.addWidget(self.new_rater)
        top.addWidget(QLabel("group"))
        top.addWidget(self.new_rater_group)
        top.addWidget(self.add_rater_button)
        top.addWidget(self.progress_label, 1)
        top.addWidget(self.progress)

        self.queue = QListWidget()
        self.queue.currentItemChanged.connect(self._on_queue)
        self.player = Player()
        self.player.frame_shown.connect(self._on_player_position)
        self.player.notice.connect(lambda text: self._show_message(text))
        self.strip = QListWidget()
        self.strip.setViewMode(QListWidget.ViewMode.IconMode)
        self.strip.setIconSize(QSize(100, 100))
        # each item sized for a whole face and its frame number: the faces arrive after the
        # items, and uniform sizes took the first item's, a text line high, for every face
        self._item_size = QSize(108, 104 + 2 * self.strip.fontMetrics().height())
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
        self.keys_label = QLabel(keys_help(self.keys.keymap), wordWrap=True)
        self.keys_label.setStyleSheet("color: #555")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.keys_label)

    def _questionnaire(self) -> QWidget:
        box = QGroupBox("Questionnaire")
        grid = QGridLayout(box)
        grid.addWidget(QLabel("Describe the actor's expression changes:"), 0, 0)
        self.description = QPlainTextEdit()
        self.description.setTabChangesFocus(True)  # Tab leaves the box; it types no tab
        key = self._hint("rating.description").strip(" ()")
        self.description.setPlaceholderText(
            f"{key + ' to write here; ' if key else ''}Tab or Esc to leave")
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
            if self.rater_box.count():
                self._show_message("Choose your name as rater above, or add yourself: your "
                                   "name, your group, Add rater.", error=True)
            else:
                self._show_message("No rater yet: add raters to groups first: type a name, "
                                   "choose or type a group, Add rater (or feasstm raters "
                                   "PROJECT add NAME --group G).", error=True)
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
        self._strip_indices = []
        self.strip.blockSignals(True)
        self.strip.clear()
        self.strip.blockSignals(False)
        self._crop_items = {}  # the items waiting for a face are gone
        if clip is None:
            self.player.unload()
            self._show_rating()
            return
        rows = self.store.frames(clip)
        self._frames = {f.id: f for f in rows}
        self._show_message("")
        load_player(self.player, self.store, clip, rows)
        for f in rows:
            if asa.pickable(f):
                item = QListWidgetItem(str(f.frame_index))
                item.setSizeHint(self._item_size)
                self._set_crop(item, str(self.store.folder / f.crop))
                item.setData(Qt.ItemDataRole.UserRole, f.id)
                item.setToolTip(f"frame {f.frame_index}")
                self.strip.addItem(item)
        self._strip_indices = [self._frames[self.strip.item(i).data(Qt.ItemDataRole.UserRole)]
                               .frame_index for i in range(self.strip.count())]
        # the strip's current frame is the frame shown, so P works at once after PgDown
        self._on_player_position(self.player.index)
        if self.strip.currentRow() < 0 and self.strip.count():
            self.strip.blockSignals(True)
            self.strip.setCurrentRow(0)
            self.strip.blockSignals(False)
        if self.player.reason:
            self._show_message(self.player.reason)
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

    def _show_rating(self, *, keep_typing: bool = False) -> None:
        """Show the store's rating of the current clip by this rater (and nothing else).
        `keep_typing`: a description being typed (not yet committed) stays as typed."""
        self._loading = True
        try:
            r = rdb.rating(self.store, self._clip, self.rater) if self._clip else None
            text = r.description if r else ""
            typing = keep_typing and self._commit_timer.isActive()
            if not typing and self.description.toPlainText() != text:
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

    # -- what other sessions do (a server project) -----------------------------------------

    def follow(self, live) -> None:
        """Follow `live` (ui/live_updates.LiveUpdates): others' edits shown as they come."""
        live.changed.connect(self.on_changes)

    def on_changes(self, changes) -> None:
        """A burst of edits (core.store.live.Changes): reread what they may have changed."""
        if self._finished or not changes.others:
            return
        try:
            if changes.everything or changes.clip_list:
                self._reload_queue()
            if changes.ratings and (changes.everything or not changes.clips
                                    or self._clip in changes.clips):
                self._show_rating(keep_typing=True)
            elif changes.ratings and self.queue.count():
                self._refresh_queue()
        except FeasstmError as exc:  # the server away: the window's banner says so too
            self._show_message(str(exc), error=True)

    def _reload_queue(self) -> None:
        """The raters and the rater's group's clips again (put in groups elsewhere), the clip
        shown kept when it is still in the queue."""
        names = [r.name for r in rdb.raters(self.store)]
        if not self._fixed_rater:
            have = [self.rater_box.itemText(i) for i in range(self.rater_box.count())]
            self.rater_box.blockSignals(True)
            self.rater_box.addItems([n for n in names if n not in have])
            self.rater_box.blockSignals(False)
        r = rdb.rater(self.store, self.rater) if self.rater else None
        clips = rdb.group_clips(self.store, r.group) if r else []
        shown = [self.queue.item(i).data(Qt.ItemDataRole.UserRole)
                 for i in range(self.queue.count())]
        if clips == shown:
            return
        self.queue.blockSignals(True)
        self.queue.clear()
        for clip in clips:
            item = QListWidgetItem(clip)
            item.setData(Qt.ItemDataRole.UserRole, clip)
            self.queue.addItem(item)
        if self._clip in clips:
            self.queue.setCurrentRow(clips.index(self._clip))
        self.queue.blockSignals(False)
        if clips:
            self._refresh_queue()
        if self._clip not in clips:  # taken out of the group elsewhere: the first clip
            self.commit_description()
            if clips:
                self.queue.setCurrentRow(0)
            else:
                self._load_clip(None)

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
        """Pick (or unpick) `item`, or else the frame on screen in the player (the strip's
        frame at or before it when the frame on screen has no face crop)."""
        shown = self.player.index
        if item is None and shown >= 0:
            row = self._strip_row_at(shown)
            item = self.strip.item(row) if row is not None else None
        item = item or self.strip.currentItem()
        if self._clip is None:
            return
        if item is None:
            self._show_message("This clip has no frame with the actor's face to pick.",
                               error=True)
            return
        self.commit_description()
        fid = item.data(Qt.ItemDataRole.UserRole)
        if self._guard(asa.toggle_pick, self.store, self._clip, self.rater, fid):
            index = self._frames[fid].frame_index
            self._show_message("" if index == shown or shown < 0 else
                               f"Frame {shown} on screen has no face crop: frame {index}, the "
                               "one before it in the strip, was picked instead.")
        self._show_rating()

    def toggle_loop(self) -> None:
        """Loop the whole clip; again: no loop."""
        if self.player.loop:
            self.player.set_loop(None)
        else:
            self.player.set_loop(*self.player.range)

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
        frame = self._frames.get(current.data(Qt.ItemDataRole.UserRole)) if current else None
        if frame is not None:  # None while the strip is cleared for another clip
            self.player.pause()
            self.player.seek(frame.frame_index)

    def _strip_row_at(self, index: int) -> int | None:
        """The strip row of the pickable frame at source index `index`, or the last before."""
        row = bisect.bisect_right(self._strip_indices, index) - 1
        return row if row >= 0 else None

    def _on_player_position(self, index: int) -> None:
        row = self._strip_row_at(index)
        if row is not None and row != self.strip.currentRow():
            self.strip.blockSignals(True)
            self.strip.setCurrentRow(row)
            self.strip.blockSignals(False)
            self.strip.scrollToItem(self.strip.item(row))

    # -- raters ------------------------------------------------------------------------------

    def _set_up_new_rater(self, store: Store) -> None:
        groups = list(rdb.groups(store))
        self.new_rater_group.clear()
        self.new_rater_group.addItems(groups)
        self.new_rater.setText("" if self._fixed_rater else (store.annotator or ""))
        for w in (self.new_rater, self.new_rater_group, self.add_rater_button):
            w.setEnabled(not self._fixed_rater)

    def add_rater(self) -> bool:
        """Register the name typed as a rater of the group chosen, and rate as them."""
        name = self.new_rater.text().strip()
        group = self.new_rater_group.currentText().strip()
        if not name or not group:
            self._show_message("Type the new rater's name and choose their group.", error=True)
            return False
        if not self._guard(rdb.set_rater, self.store, name, group):
            return False
        if self.rater_box.findText(name) < 0:
            self.rater_box.addItem(name)
        self.rater_box.setCurrentText(name)
        self._show_message(f"{name} rates the clips of group {group}.")
        return True

    # -- keys --------------------------------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.FocusOut and obj is self.description:
            self.commit_description()
        if (event.type() == QEvent.Type.KeyPress and obj is self.description
                and event.key() == Qt.Key.Key_Escape):
            self.strip.setFocus()  # Esc leaves the description (and keeps the dialog open)
            return True
        if event.type() == QEvent.Type.KeyPress and obj is not self.description:
            if self.handle_key(event):
                return True
        return super().eventFilter(obj, event)


    def focus_description(self) -> None:
        """D: into the description box (Tab or Esc leaves it)."""
        if self.description.isEnabled():
            self.description.setFocus()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.keys_label.setText(keys_help(self.keys.keymap))  # the keymap may have changed
        super().showEvent(event)

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
                     keymap: act.Keymap | None = None, live=None) -> RatingDialog:
    """Open rating mode (non-modal) over `parent`; returns the dialog. It follows `live`
    (else the parent window's `live`, ui/live_updates.py) on a server project."""
    dialog = RatingDialog(store, parent, rater, keymap)
    live = live if live is not None else getattr(parent, "live", None)
    if live is not None:
        dialog.follow(live)
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
