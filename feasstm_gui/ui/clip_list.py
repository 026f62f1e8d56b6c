"""The clip list's filter bar and its counts, kept out of main_window.py (issue 19: a project of
16,000 clips and a million frames opens in under 2 s and stays searchable as you type).

- A search box (Ctrl+Shift+F: View ▸ Find clip) and four lists above the clip list: work,
  actor, group and state (core/store/clip_list.py: unlabelled, in progress, done, flagged,
  to extract or align). Typing filters at every key; Esc clears the search, a second Esc goes
  back to the frame strip; Down goes to the list; Return opens the first clip shown.
- The clips are listed at once; their counts (labelled / deleted / total) are read a chunk of
  clips at a time on a thread of their own, through a second read-only connection, the clips
  on screen first (`SummaryFiller`). Until a clip's counts are in, it shows "…", and a state
  filter leaves it out; the bar says how many clips are still being counted.

`install(window)` builds it into the window's Clips dock and returns the controller; the
window calls its `load()` where it used to read every clip's counts.
"""

from __future__ import annotations

import threading
from collections import deque

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QLineEdit, QSizePolicy, QWidget

from feasstm_gui.core.store import clip_list as cl
from feasstm_gui.core.store import views
from feasstm_gui.core.store.views import ClipSummary

#: Clips whose counts one query of the filler reads.
CHUNK = 64
#: A search lists this many of the clips it keeps at once, the rest a moment later
#: (ClipListModel.set_rows): a key typed costs what the screen shows, not 8,000 rows.
FIRST_ROWS = 256


class SummaryFiller(QObject):
    """Reads the clips' counts on a thread of its own (see the module's docstring)."""

    got = Signal(object, int, int)  # {clip id: ClipSummary}, generation, ticket (`mark`)
    finished = Signal(int)  # generation

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._queue: deque[str] = deque()
        self._urgent: deque[str] = deque()
        self._asked: set[str] = set()
        self._source: tuple | None = None  # (store, viewer) read, while a project is open
        self._alive = False  # a reading thread is on its way (under _lock)
        self.generation = 0
        self.left = 0
        #: edits told so far (`mark`): counts read from a chunk taken after an edit's mark
        #: include it; each chunk's counts come with the marks seen when it was taken
        self.seq = 0
        #: counts are being read, or the last of them not yet taken in by the window
        self.running = False

    @property
    def alive(self) -> bool:
        """Whether the reading thread is on its way."""
        return self._alive

    def start(self, store, viewer: str | None, clip_ids: list[str]) -> None:
        """Count these clips of `store` (what `viewer` may see), from the start."""
        self.stop()
        self.generation += 1
        self._stop = threading.Event()
        self._queue = deque(clip_ids)
        self._urgent = deque()
        self._asked = set()
        self.left = len(clip_ids)
        self._source = (store, viewer)
        if not clip_ids:
            self.finished.emit(self.generation)
            return
        with self._lock:
            self._spawn()

    def _spawn(self) -> None:
        """Start the reading thread (under _lock)."""
        store, viewer = self._source
        self._alive = self.running = True
        db, owned = cl.reader_db(store)
        self._thread = threading.Thread(
            target=self._run, args=(store, viewer, db, owned, self._stop, self.generation),
            name="clip counts", daemon=True)
        self._thread.start()

    def request(self, clip_id: str) -> None:
        """Read this clip's counts next (it is on screen)."""
        with self._lock:
            if self._alive and clip_id not in self._asked:
                self._asked.add(clip_id)
                self._urgent.append(clip_id)

    def refresh(self, clip_id: str) -> None:
        """Read this clip's counts (again) next, also once every clip was read: an edit the
        counts cannot follow, frames a job added, a clip not counted yet that is opened."""
        with self._lock:
            if self._source is None:
                return
            self._asked.add(clip_id)
            if clip_id not in self._urgent:
                self._urgent.append(clip_id)
            if not self._alive:
                self._spawn()

    def mark(self) -> int:
        """An edit was committed: its number (see `seq`)."""
        with self._lock:
            self.seq += 1
            return self.seq

    def stop(self) -> None:
        """Stop reading (the project closes or is read again); waits for the query running."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        with self._lock:
            self._alive = self.running = False
            self._source = None

    def _take(self) -> tuple[list[str], int]:
        with self._lock:
            out: list[str] = []
            while self._urgent and len(out) < CHUNK:
                out.append(self._urgent.popleft())
            while self._queue and len(out) < CHUNK:
                c = self._queue.popleft()
                if c not in self._asked:
                    out.append(c)
            self._asked.update(out)
            if not out:  # done: a refresh after this starts a thread again
                self._alive = False
            return out, self.seq

    def _run(self, store, viewer, db, owned: bool, stop: threading.Event, gen: int) -> None:
        try:
            while not stop.is_set():
                chunk, ticket = self._take()
                if not chunk:
                    break
                try:
                    got = views.clip_summaries(store, viewer=viewer, clip_ids=chunk, db=db)
                except Exception:  # noqa: BLE001 - closed under us: the window reads on demand
                    with self._lock:
                        if self._thread is threading.current_thread():
                            self._alive = False
                    break
                for c in chunk:  # a clip without frames has no row
                    got.setdefault(c, ClipSummary())
                if not stop.is_set():
                    self.got.emit(got, gen, ticket)
        finally:
            if owned:
                cl.close_reader(db)
            if not stop.is_set():
                self.finished.emit(gen)


class SearchBox(QLineEdit):
    """The clip search: Esc clears it (a second Esc leaves it), Down goes to the list, Return
    opens the first clip shown."""

    leave = Signal()
    down = Signal()
    enter = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        key = event.key()
        if key == Qt.Key.Key_Escape:
            if self.text():
                self.clear()
            else:
                self.leave.emit()
            return
        if key == Qt.Key.Key_Down:
            self.down.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enter.emit()
            return
        super().keyPressEvent(event)


class ClipFilterBar(QWidget):
    """The search box and the work / actor / group / state lists above the clip list."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("clip-filter-bar")
        self.search = SearchBox()
        self.search.setObjectName("clip-search")
        self.search.setPlaceholderText("Find clip by name…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filters the clip list as you type (View ▸ Find clip). Esc "
                               "clears it; Down: the list; Return: the first clip shown.")
        self.work = self._box("Any work", "work")
        self.actor = self._box("Any actor", "actor")
        self.group = self._box("Any group", "group")
        self.state = self._box("Any state", "state")
        for key, title in cl.CLIP_STATES.items():
            self.state.addItem(title, key)
        self.count = QLabel()
        self.count.setObjectName("clip-count")
        # its text changes at every key and every chunk of counts read: were its width to
        # count, each change would lay the main window out again and repaint the frame strip
        # (issue 19: 40-70 ms of a key typed while the counts are read)
        self.count.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QGridLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addWidget(self.search, 0, 0, 1, 2)
        lay.addWidget(self.work, 1, 0)
        lay.addWidget(self.actor, 1, 1)
        lay.addWidget(self.group, 2, 0)
        lay.addWidget(self.state, 2, 1)
        lay.addWidget(self.count, 3, 0, 1, 2)
        self.search.textChanged.connect(lambda _t: self.changed.emit())
        for box in (self.work, self.actor, self.group, self.state):
            box.currentIndexChanged.connect(lambda _i: self.changed.emit())

    def _box(self, anything: str, name: str) -> QComboBox:
        box = QComboBox()
        box.setObjectName(f"clip-{name}")
        box.addItem(anything, "")
        box.setMinimumContentsLength(6)
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setToolTip(f"Show only the clips of this {name}")
        return box

    def set_choices(self, works: list[str], actors: list[str], groups: list[str]) -> None:
        """The values the lists offer (the project's); the choices made stay where they can."""
        for box, values in ((self.work, works), (self.actor, actors), (self.group, groups)):
            keep = box.currentData()
            box.blockSignals(True)
            while box.count() > 1:
                box.removeItem(1)
            for v in values:
                box.addItem(v, v)
            i = box.findData(keep)
            box.setCurrentIndex(max(0, i))
            box.blockSignals(False)

    def filter(self) -> cl.ClipFilter:
        return cl.ClipFilter(self.search.text(), self.work.currentData() or "",
                             self.actor.currentData() or "", self.group.currentData() or "",
                             self.state.currentData() or "")

    def set_filter(self, flt: cl.ClipFilter) -> None:
        self.search.setText(flt.text)
        for box, value in ((self.work, flt.work), (self.actor, flt.actor),
                           (self.group, flt.group), (self.state, flt.state)):
            i = box.findData(value)
            if i < 0:
                raise ValueError(f"no {box.objectName()} {value!r} in the project")
            box.setCurrentIndex(i)


class ClipListController(QObject):
    """Loads the clip list, keeps its filter and fills in its counts (module docstring)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.bar = ClipFilterBar()
        self.filler = SummaryFiller(self)
        self.filler.got.connect(self._got)
        self.filler.finished.connect(self._finished)
        self._keys: list[str] = []
        self._last: cl.ClipFilter | None = None  # the filter the rows shown were made with
        self._refilter = QTimer(self)  # a state filter follows the counts as they come
        self._refilter.setSingleShot(True)
        self._refilter.setInterval(300)
        self._refilter.timeout.connect(self.apply)
        self.bar.changed.connect(self.apply)
        self.bar.search.leave.connect(lambda: window.strip.setFocus())
        self.bar.search.down.connect(self._to_list)
        self.bar.search.enter.connect(self._open_first)
        self._chunks = 0
        self._shown_clip: str | None = None
        self._edited: dict[str, int] = {}  # clip id -> the filler's mark of its last edit
        window.clip_changed.connect(self._clip_changed)
        model = window.clip_model
        model.fetch = self._fetch
        model.request = self.filler.request
        model.refresh = self.filler.refresh
        model.edited = self._mark_edited
        view = window.clip_view
        model.repaint = lambda row: (view.viewport().update() if row is None
                                     else view.update(model.index(row)))
        model.completed.connect(self._restore_current)  # the rest of a search's rows listed
        model.on_screen = self._on_screen

        page = QWidget()
        lay = QGridLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.bar, 0, 0)
        lay.addWidget(window.clip_view, 1, 0)
        window.clips_dock.setWidget(page)

    def _fetch(self, clip_id: str) -> ClipSummary | None:
        w = self.window
        if w.session is None:
            return None
        return w.session.clip_summaries(clip_id).get(clip_id, ClipSummary())

    def _on_screen(self) -> tuple[int, int]:
        """The first and last rows of the clip list on screen."""
        view = self.window.clip_view
        rect = view.viewport().rect().adjusted(4, 4, -4, -4)
        first = view.indexAt(rect.topLeft())
        last = view.indexAt(rect.bottomLeft())
        n = self.window.clip_model.rowCount()
        return (first.row() if first.isValid() else 0,
                last.row() if last.isValid() else n - 1)

    def _mark_edited(self, clip_id: str) -> None:
        self._edited[clip_id] = self.filler.mark()

    def _clip_changed(self, clip_id: str) -> None:
        """The clip left, when labelled blind: its counts read again off this thread (the
        strip shows no disagreements there, so the edits could not move its count of them;
        elsewhere the window moves it with each edit)."""
        w = self.window
        left, self._shown_clip = self._shown_clip, clip_id or None
        if (left and left != clip_id and w.session is not None
                and w.clip_model.clip(left) is not None and w.session.is_blind(left)):
            w.clip_model.recount(left)

    # -- loading -------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the clip list again (its counts: a chunk at a time, see the module)."""
        w = self.window
        self.filler.stop()
        self._shown_clip = w.clip_id
        self._edited = {}
        if w.session is None:
            w.clip_model.set_clips([], {}, set())
            self._keys = []
            self.bar.set_choices([], [], [])
            self._show_count()
            return
        clips = w.store.clips()
        flag = w.store.param("labelling.blind", False)  # Store.is_blind, for every clip
        ids = {c.id for c in clips}
        blind = set(flag) & ids if isinstance(flag, list) else (ids if flag else set())
        self._keys = cl.search_keys(clips)
        self.bar.set_choices(sorted({c.work for c in clips if c.work}),
                             sorted({c.actor for c in clips if c.actor}),
                             sorted({c.group for c in clips if c.group}))
        flt = self.bar.filter()
        self._last = flt
        rows = cl.filter_clips(clips, flt, {}, keys=self._keys) if not flt.is_empty() else None
        w.clip_model.set_clips(clips, {}, blind, rows)
        self._restore_current()
        self.filler.start(w.store, w.annotator, [c.id for c in clips])
        self._show_count()

    def stop(self) -> None:
        self.filler.stop()

    def _got(self, got: dict, gen: int, ticket: int) -> None:
        if gen != self.filler.generation:
            return
        self.filler.left = max(0, self.filler.left - len(got))
        model = self.window.clip_model
        fresh, again = {}, {}
        for c, s in got.items():
            if self._edited.get(c, 0) > ticket:  # edited since this read began: it may
                if model.is_stale(c):            # miss the edit
                    self.filler.refresh(c)
                continue
            (again if model.is_stale(c) else fresh)[c] = s
        model.add_summaries(fresh)
        for c, s in again.items():
            model.set_summary(c, s)
        if self.bar.filter().needs_counts and not self._refilter.isActive():
            self._refilter.start()
        self._show_count()
        self.window.status_info.update_counts()
        self._chunks += 1
        if self._chunks % 16 == 0:
            self._recount_disputes()

    def _recount_disputes(self) -> None:
        count = getattr(self.window, "dispute_count", None)
        if count is not None:
            count.recount()

    def _finished(self, gen: int) -> None:
        if gen != self.filler.generation or self.filler.alive:  # alive: a refresh since
            return
        self.filler.running = False
        self.filler.left = 0
        if self.bar.filter().needs_counts:
            self.apply()
        self._show_count()
        self.window.status_info.update_counts()
        self._recount_disputes()

    # -- filtering -------------------------------------------------------------------------------

    def apply(self) -> None:
        """Show the clips the bar's filter keeps (at every key in the search box)."""
        w = self.window
        model = w.clip_model
        flt = self.bar.filter()
        last, self._last = self._last, flt
        among = model.rows() if last is not None and cl.narrows(flt, last) else None
        rows = cl.filter_clips(model.clips(), flt, model.known(), keys=self._keys,
                               among=among)
        model.set_rows(rows, first=FIRST_ROWS)
        self._restore_current()
        self._show_count()
        w.status_info.update_empty_text()

    def _restore_current(self) -> None:
        """Select the clip shown in the strip again, when the list shows it."""
        w = self.window
        row = w.clip_model.row_of(w.clip_id) if w.clip_id is not None else None
        if row is not None and w.clip_view.currentIndex().row() != row:
            w.clip_view.setCurrentIndex(w.clip_model.index(row))
            w.clip_view.scrollTo(w.clip_model.index(row))

    def _show_count(self) -> None:
        model = self.window.clip_model
        shown, total = model.shown_count(), len(model.clips())
        text = f"{shown:,} of {total:,} clips" if shown != total else f"{total:,} clips"
        tip = "Clips the filters keep, of all the project's clips."
        if self.filler.running and self.filler.left:
            text += f" · counting {self.filler.left:,}"
            tip += (f" The frames of {self.filler.left:,} clips are still being counted "
                    "(a state filter leaves them out until then).")
        self.bar.count.setText(text)
        self.bar.count.setToolTip(tip)

    # -- keys ----------------------------------------------------------------------------------

    def focus_search(self) -> None:
        """View ▸ Find clip: the search box, its text selected to type over."""
        w = self.window
        w.clips_dock.show()
        w.clips_dock.raise_()
        self.bar.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.bar.search.selectAll()

    def _to_list(self) -> None:
        w = self.window
        w.clip_model.complete()  # the keys move through every clip kept
        w.clip_view.setFocus()
        if not w.clip_view.currentIndex().isValid() and w.clip_model.rowCount():
            w.clip_view.setCurrentIndex(w.clip_model.index(0))

    def _open_first(self) -> None:
        w = self.window
        if not w.clip_model.rowCount():
            return
        if not w.clip_view.currentIndex().isValid():
            w.clip_view.setCurrentIndex(w.clip_model.index(0))
        w.strip.setFocus()


def install(window) -> ClipListController:
    return ClipListController(window)
