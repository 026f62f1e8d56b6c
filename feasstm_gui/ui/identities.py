"""The identities of a clip as a gallery: one row per person found in the clip (issue 15).

Each row shows the identity's number, how many frames show it, whether it is the actor (its
face is the frames' current face), and sample faces cut from the frames. Keys: Up / Down (j / k)
move, A or Return says "this is the actor", N or Delete says "not the actor" (each one undoable
edit over the whole clip: the frames switch to that identity's face, or become irrelevant),
Ctrl+Z undoes, F finds the identities (a job on the window's worker; R reloads when it is done).
The work is done by core.faces.identities; this module only shows it and passes keys on.
"""

from __future__ import annotations

from PySide6 import QtWidgets as W
from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QKeyEvent, QPixmap

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.store import Store
from feasstm_gui.core.store.views import frames_by_id
from feasstm_gui.ui import actions as act
from feasstm_gui.ui.thumbs import ImageLoader, Loaded

ACTOR_COLOR = QColor("#d5f5e3")
THUMB = 72
SAMPLES = 6


def _face(item: Loaded, box) -> QPixmap | None:
    """A square face cut around `box` (frame pixels) from a decoded frame, THUMB pixels wide."""
    w, h = item.source_size.width(), item.source_size.height()
    if w <= 0 or h <= 0:
        return None
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * 1.2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a, b = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    c, d = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    if c <= a or d <= b:
        return None
    sx, sy = item.pixmap.width() / w, item.pixmap.height() / h  # decoded at another size
    rect = QRect(int(a * sx), int(b * sy), max(1, int((c - a) * sx)), max(1, int((d - b) * sy)))
    return item.pixmap.copy(rect).scaled(THUMB, THUMB, Qt.AspectRatioMode.IgnoreAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation)


class IdentityGallery(act.ScopedKeysMixin, W.QDialog):
    """One clip's identities; keys say which one is the actor."""

    def __init__(self, store: Store, clip_id: str, parent: W.QWidget | None = None,
                 window=None, keymap: act.Keymap | None = None):
        super().__init__(parent)
        self.keys = act.ScopedKeys(keymap or act.Keymap(None), act.IDENTITIES)
        self.store = store
        self.clip_id = clip_id
        self.window_ = window
        self.identities: list = []
        # sample faces: their frames decoded off the GUI thread (ui/thumbs.ImageLoader), cut
        # out as each arrives; path -> [(row, column, box)] waiting for it
        self.images = ImageLoader(max_bytes=64 << 20, parent=self)
        self.images.ready.connect(self._image_ready)
        self._waiting: dict[str, list[tuple[int, int, object]]] = {}
        self.setWindowTitle(f"Identities of clip {clip_id}")
        self.resize(820, 520)
        self.summary = W.QLabel()
        self.summary.setWordWrap(True)
        self.table = W.QTableWidget()
        self.table.setSelectionBehavior(W.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(W.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(W.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().setVisible(False)
        self.table.installEventFilter(self)
        keys = W.QLabel("A / Return: this is the actor · N / Delete: not the actor · "
                      "Ctrl+Z: undo · F: find identities · R: reload")
        layout = W.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(keys)
        self.refresh()

    # -- contents

    def refresh(self) -> None:
        from feasstm_gui.core.faces.identities import clip_identities

        row = max(0, self.table.currentRow())
        self.identities = clip_identities(self.store, self.clip_id, SAMPLES)
        frames = {i: f.image for i, f in frames_by_id(
            self.store, [s[0] for ident in self.identities for s in ident.samples]).items()}
        self._waiting = {}
        t = self.table
        t.clear()
        t.setColumnCount(2 + SAMPLES)
        t.setHorizontalHeaderLabels(["identity", "frames"] + [""] * SAMPLES)
        t.setRowCount(len(self.identities))
        for r, ident in enumerate(self.identities):
            name = W.QTableWidgetItem(f"{ident.number}" + ("  the actor" if ident.is_actor else ""))
            count = W.QTableWidgetItem(f"{ident.frames} ({ident.actor_frames} as the actor)")
            cells = [name, count]
            for frame_id, _index, box in ident.samples:
                item = W.QTableWidgetItem()
                image = frames.get(frame_id)
                if image:
                    path = str(self.store.folder / image)
                    got = self.images.get(path)
                    if isinstance(got, Loaded):
                        self._set_face(item, got, box)
                    elif got is None:  # decoding: shown when it arrives
                        self._waiting.setdefault(path, []).append((r, len(cells), box))
                cells.append(item)
            for c, item in enumerate(cells):
                if ident.is_actor:
                    item.setBackground(QBrush(ACTOR_COLOR))
                t.setItem(r, c, item)
            t.setRowHeight(r, THUMB + 8)
        for c in range(2, 2 + SAMPLES):
            t.setColumnWidth(c, THUMB + 8)
        t.horizontalHeader().setSectionResizeMode(1, W.QHeaderView.ResizeMode.ResizeToContents)
        if self.identities:
            t.setCurrentCell(min(row, len(self.identities) - 1), 0)
            actor = next((i.number for i in self.identities if i.is_actor), None)
            self.summary.setText(
                f"{len(self.identities)} identities in clip {self.clip_id}; "
                + (f"identity {actor} is the actor." if actor is not None
                   else "none of them is the actor."))
        else:
            self.summary.setText(f"No identities found in clip {self.clip_id} yet: press F to "
                                 "find them (or run `feasstm identities`).")

    @staticmethod
    def _set_face(item: W.QTableWidgetItem, image: Loaded, box) -> None:
        pix = _face(image, box)
        if pix is not None:
            item.setIcon(QIcon(pix))

    def _image_ready(self, path: str) -> None:
        got = self.images.peek(path)
        for r, c, box in self._waiting.pop(path, []):
            item = self.table.item(r, c)
            if item is not None and isinstance(got, Loaded):
                self._set_face(item, got, box)

    # -- keys

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.table and isinstance(event, QKeyEvent):
            if (event.type() == QEvent.Type.ShortcutOverride
                    and self.keys.action_for(event) is not None):
                event.accept()  # the gallery's own keys, not the main window's shortcuts
                return True
            if event.type() == QEvent.Type.KeyPress:
                return self.handle_key(event)
        return super().eventFilter(obj, event)

    def move(self, step: int) -> None:
        """To the next (1) or previous (-1) identity."""
        row = min(max(0, self.table.currentRow() + step), self.table.rowCount() - 1)
        self.table.setCurrentCell(row, 0)

    # -- what the keys do

    def current(self):
        r = self.table.currentRow()
        return self.identities[r] if 0 <= r < len(self.identities) else None

    def set_actor(self, is_actor: bool) -> None:
        from feasstm_gui.core.faces.identities import set_identity_actor

        ident = self.current()
        if ident is None or self.store.read_only:
            return
        try:
            n = set_identity_actor(self.store, self.clip_id, ident.number, is_actor)
        except FeasstmError as exc:
            self.summary.setText(str(exc))
            return
        self._after_edit()
        verb = "is" if is_actor else "is not"
        self.summary.setText(self.summary.text() + f" Identity {ident.number} {verb} the actor: "
                             f"{n} change(s) (Ctrl+Z undoes).")

    def undo(self) -> None:
        if self.store.read_only:
            return
        step = self.store.undo()
        self._after_edit()
        if step is not None:
            self.summary.setText(self.summary.text() + f" Undone: {step.description}.")

    def find(self) -> None:
        """Find the identities on the window's worker (the gallery reloads with R)."""
        start = getattr(self.window_, "start_job", None)
        if start is None:
            return
        from feasstm_gui.core.faces.identities import identities_clip

        store, clip = self.store, self.clip_id
        if start(f"Finding the identities of {clip}", lambda: identities_clip(store, clip),
                 clip=clip):
            self.summary.setText(f"Finding the identities of {clip}… press R when it is done.")

    def _after_edit(self) -> None:
        self.refresh()
        reload = getattr(self.window_, "reload_clip", None)
        if reload is not None and getattr(self.window_, "clip_id", None) == self.clip_id:
            reload()


def open_identities(window, store: Store, keymap: act.Keymap | None = None
                    ) -> IdentityGallery | None:
    """Tools > Identities of this clip: the gallery of the clip shown in the window."""
    clip_id = getattr(window, "clip_id", None)
    if clip_id is None:
        clips = store.clips()
        if not clips:
            return None
        clip_id = clips[0].id
    dialog = IdentityGallery(store, clip_id, window, window, keymap=keymap)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
