"""The labelling workstation: clip list, frame strip, preview, legend, history, review grid.

The store is the single source of truth: every key press sends one edit to it (committed at
once, with its edit-log row), then re-reads only the frames that edit touched and repaints
their items. There is no save step.

Tools written elsewhere (export, rating, adjudication, agreement) are wired into the Tools menu
from the action registry (actions.TOOLS); each is imported only when opened.
"""

from __future__ import annotations

import functools
import gc
import importlib
import importlib.util
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui import __version__
from feasstm_gui.core.errors import FeasstmError, ProjectLocked
from feasstm_gui.core.settings import Settings, config_dir
from feasstm_gui.core.store import FrameRow, Store, restore_backup, views
from feasstm_gui.core.store.lock import describe_holder
from feasstm_gui.core.vocab import CODES
from feasstm_gui.ui import actions as act
from feasstm_gui.ui import pipeline_adapter as pipeline
from feasstm_gui.ui.clips import ClipListModel, ClipListView, ClipRole, counts_delta
from feasstm_gui.ui.dialogs import (
    ImportVideosDialog,
    KeymapEditor,
    KeyOverlay,
    RealignDialog,
    ask_annotator,
    show_error,
    show_message,
)
from feasstm_gui.ui.filters import fill_targets, typical_step
from feasstm_gui.ui.history import HistoryPanel
from feasstm_gui.ui.panels import FilterBar, LegendBar, ReviewBar
from feasstm_gui.ui.preview import PreviewWidget
from feasstm_gui.ui.proposals import ProposalController
from feasstm_gui.ui.strip import FrameStripModel, FrameStripView
from feasstm_gui.ui.style import DELETED_COLOR, REASON_LETTERS, code_icon, letter_icon
from feasstm_gui.ui.thumbs import ImageLoader
from feasstm_gui.ui.workers import JobOutcome, JobPanel, JobRunner


def _module_exists(name: str) -> bool:
    """Whether a module is installed, without importing it (tools import heavy libraries)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


THUMB_SIZES = (64, 80, 96, 128, 160)


def guarded(method: Callable) -> Callable:
    """A handler never crashes the window: errors become a dialog that says what to do."""
    @functools.wraps(method)
    def wrapper(self: MainWindow, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.report_error(exc)
            return None
    return wrapper


class MainWindow(QMainWindow):
    project_changed = Signal()
    clip_changed = Signal(str)
    frames_refreshed = Signal()  # after an edit's frames were re-read and repainted

    def __init__(self, settings: Settings | None = None, annotator: str | None = None):
        super().__init__()
        self.settings = settings or Settings.load()
        self.keymap = act.Keymap(self.settings)
        self.annotator = annotator or self.settings.get("annotator") or "annotator"
        self.store: Store | None = None
        self.clip_id: str | None = None
        self.setAcceptDrops(True)  # video files, a clip table or a project folder
        self._blind_clip = False
        self._reported: set[str] = set()
        self._job_clip: str | None = None
        self._job_frames: list[int] = []
        self._job_kind = ""
        self._tools: dict[str, object] = {}
        self.setWindowTitle("FEASSTM Studio")
        self.resize(1400, 880)

        self.thumbs = ImageLoader(max_bytes=96 << 20, max_side=96, exact=True, threads=2,
                                  parent=self)
        self.frame_images = ImageLoader(max_bytes=48 << 20, max_side=1600, threads=1,
                                        max_pending=4, parent=self)
        self.thumbs.failed.connect(self._image_failed)

        self._build_central()
        self._build_docks()
        self.runner = JobRunner(self)
        self.runner.progressed.connect(self._job_progress)
        self.runner.finished.connect(self._job_finished)
        self._build_status()
        self.actions = act.build_actions(self, self.keymap, self._icon_for)
        act.attach(self.actions, self, [self.workspace, self.preview])
        self.menus = act.build_menus(self.menuBar(), self.actions)
        self._build_tools_menu(self.menus["Tools"])
        self.toolbar = QToolBar("Main")
        self.toolbar.setObjectName("main-toolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        act.build_toolbar(self.toolbar, self.actions)
        self.addToolBar(self.toolbar)
        self.overlay = KeyOverlay(self.keymap, self)
        self._preview_row: FrameRow | None = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        # While keys come faster than this, the preview waits for a pause (holding an arrow
        # key or labelling a run does not decode and scale every frame on the way).
        self._preview_timer.setInterval(40)
        self._preview_timer.timeout.connect(self._update_preview)
        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(100)
        self._counts_timer.timeout.connect(self._show_counts)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.timeout.connect(lambda: self.reload_clip(keep=True))
        self._clips_refresh_ms = 0.0  # what the last refresh of the clip list took
        self._clips_timer = QTimer(self)
        self._clips_timer.setSingleShot(True)
        self._clips_timer.timeout.connect(self._refresh_clips_during_job)
        self.proposals = ProposalController(self)  # expression proposals (issue 17)
        self._restore_geometry()
        self._update_enabled()

    # -- layout -------------------------------------------------------------------------------

    def _build_central(self) -> None:
        self.strip_model = FrameStripModel(self.thumbs, self)
        self.strip = FrameStripView()
        self.strip.setObjectName("frame-strip")
        self.strip.setModel(self.strip_model)
        self.strip.current_frame_changed.connect(self._on_current_frame)
        self.strip_model.crop_failed.connect(self._crop_failed)
        self.filter_bar = FilterBar()
        self.filter_bar.changed.connect(self._filter_changed)
        clip_page = QWidget()
        lay = QVBoxLayout(clip_page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.filter_bar)
        lay.addWidget(self.strip, 1)

        self.review_model = FrameStripModel(self.thumbs, self)
        self.review_model.show_clip = True
        self.review = FrameStripView()
        self.review.setObjectName("review-grid")
        self.review.setModel(self.review_model)
        self.review.current_frame_changed.connect(self._on_current_frame)
        self.review.activated_frame.connect(self._open_in_clip)
        self.review_bar = ReviewBar()
        self.review_bar.changed.connect(self.load_review)
        review_page = QWidget()
        lay = QVBoxLayout(review_page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.review_bar)
        lay.addWidget(self.review, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(clip_page, "Clip")
        self.tabs.addTab(review_page, "Review")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.legend = LegendBar()
        self.workspace = QWidget()
        lay = QVBoxLayout(self.workspace)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.legend)
        self.setCentralWidget(self.workspace)

    def _build_docks(self) -> None:
        self.clip_model = ClipListModel(self)
        self.clip_view = ClipListView()
        self.clip_view.setObjectName("clip-list")
        self.clip_view.setModel(self.clip_model)
        self.clip_view.selectionModel().currentChanged.connect(
            lambda cur, _prev: self.set_clip(cur.data(ClipRole).id) if cur.isValid() else None)
        dock = QDockWidget("Clips", self)
        dock.setObjectName("clips-dock")
        dock.setWidget(self.clip_view)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.clips_dock = dock

        self.preview = PreviewWidget(self.frame_images, self.frame_images)
        self.preview.fix_applied.connect(self._fix_applied)
        dock = QDockWidget("Preview", self)
        dock.setObjectName("preview-dock")
        dock.setWidget(self.preview)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.preview_dock = dock

        self.history = HistoryPanel()
        self.history.jump.connect(self._history_jump)
        self.history.undo_requested.connect(self.undo)
        self.history.redo_requested.connect(self.redo)
        self.history.undo_to_requested.connect(self.undo_to)
        dock = QDockWidget("History", self)
        dock.setObjectName("history-dock")
        dock.setWidget(self.history)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.history_dock = dock
        self.resizeDocks([self.clips_dock, self.preview_dock], [280, 520],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.clips_dock, self.history_dock], [520, 260],
                         Qt.Orientation.Vertical)

    def _build_status(self) -> None:
        bar = self.statusBar()
        self.counts_label = QLabel()
        self.annotator_label = QLabel()
        self.mode_label = QLabel()
        self.mode_label.setStyleSheet(f"color:{DELETED_COLOR.name()}; font-weight:bold")
        self.job_panel = JobPanel(self.runner)
        bar.addPermanentWidget(self.job_panel)
        bar.addPermanentWidget(self.counts_label)
        bar.addPermanentWidget(self.mode_label)
        bar.addPermanentWidget(self.annotator_label)
        self._update_annotator_label()

    def _icon_for(self, spec: act.ActionSpec):
        if spec.id.startswith("label.") and spec.args and spec.args[0] in CODES:
            return code_icon(spec.args[0])
        if spec.id.startswith("flag.") and spec.args and spec.args[0] in REASON_LETTERS:
            return letter_icon(REASON_LETTERS[spec.args[0]], DELETED_COLOR)
        letters = {"file.open": ("Op", "#34495e"), "edit.undo": ("↶", "#34495e"),
                   "edit.redo": ("↷", "#34495e"), "label.fill": ("F→", "#16a085"),
                   "flag.accept": ("✓?", "#d68910"), "go.next_unlabelled": ("N", "#2471a3"),
                   "faces.realign": ("R", "#7d3c98"), "view.review": ("▦", "#2e4053"),
                   "help.keys": ("F1", "#566573")}
        if spec.id in letters:
            from PySide6.QtGui import QColor

            text, color = letters[spec.id]
            return letter_icon(text, QColor(color))
        return None

    def _build_tools_menu(self, menu: QMenu) -> None:
        """The place where export, rating, adjudication and agreement tools get wired (their
        actions come from the registry, act.TOOLS); tools not installed are hidden."""
        shown = 0
        for tool_id, _title, module, _func in act.TOOLS:
            present = _module_exists(module)
            self.actions[tool_id].setVisible(present)
            shown += present
        if not shown:
            placeholder = menu.addAction("No tools installed (export, rating, adjudication)")
            placeholder.setEnabled(False)

    @guarded
    def open_tool(self, module: str, func: str) -> None:
        if self.store is None:
            return
        opener = getattr(importlib.import_module(module), func)
        self._tools[module] = opener(self, self.store)

    # -- geometry (QSettings holds window geometry only) ------------------------------------------

    def _qsettings(self) -> QSettings:
        return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)

    def _restore_geometry(self) -> None:
        qs = self._qsettings()
        geometry = qs.value("geometry")
        state = qs.value("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        size = qs.value("thumb_size")
        if size is not None:
            try:
                self._set_thumb_size(int(size))
            except (TypeError, ValueError):
                pass

    def _save_geometry(self) -> None:
        try:
            qs = self._qsettings()
            qs.setValue("geometry", self.saveGeometry())
            qs.setValue("state", self.saveState())
            qs.setValue("thumb_size", self.strip.delegate.thumb)
            qs.sync()
        except Exception:  # noqa: BLE001, S110 - geometry is a courtesy
            pass

    # -- project --------------------------------------------------------------------------------

    #: Asked when the project is locked by another instance: return True to open read-only.
    #: Tests replace it; the default asks with a dialog.
    def ask_read_only(self, exc: ProjectLocked) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Project in use",
                          f"{exc}\n\nOpen it read-only? You can look at everything but not "
                          "change anything.", parent=self)
        box.setStandardButtons(QMessageBox.StandardButton.Open
                               | QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Open).setText("Open read-only")
        return box.exec() == QMessageBox.StandardButton.Open

    def open_path(self, folder: str | Path, read_only: bool = False) -> bool:
        """Open a project; a project held by another instance is offered read-only."""
        try:
            store = Store.open(folder, annotator=self.annotator, read_only=read_only)
        except ProjectLocked as exc:
            who = describe_holder(exc.holder)
            self.statusBar().showMessage(f"The project is open for writing by {who}", 10000)
            if not self.ask_read_only(exc):
                self.report_error(exc)
                return False
            try:
                store = Store.open(folder, annotator=self.annotator, read_only=True)
            except Exception as exc2:  # noqa: BLE001
                self.report_error(exc2)
                return False
        except Exception as exc:  # noqa: BLE001
            self.report_error(exc)
            return False
        self.set_store(store)
        return True

    def set_store(self, store: Store | None) -> None:
        """Show a project (or none). The previous one is closed."""
        if self.runner.busy:
            self.runner.cancel()
            self._wait_for_job()
        if self.store is not None and self.store is not store:
            self.store.close()
        self.store = store
        self.clip_id = None
        self.thumbs.clear()
        self.frame_images.clear()
        self._reported.clear()
        self.strip_model.set_frames([], "")
        self.review_model.set_frames([], "")
        self._preview_row = None
        self.preview.show_frame(None, None, "")
        if store is not None:
            store.annotator = self.annotator
            if not store.read_only:
                self.settings.add_recent_project(store.folder)
        self._update_title()
        self.load_clips()
        self.history.set_store(store, self.annotator)
        self._update_enabled()
        clips = self.clip_model.clips()
        if clips:
            self.clip_view.setCurrentIndex(self.clip_model.index(0))
        self.strip.setFocus()
        self.project_changed.emit()

    def _update_title(self) -> None:
        if self.store is None:
            self.setWindowTitle("FEASSTM Studio")
            self.mode_label.setText("")
            return
        ro = " [read-only]" if self.store.read_only else ""
        self.setWindowTitle(f"{self.store.name}{ro} — FEASSTM Studio")
        self.mode_label.setText("READ-ONLY" if self.store.read_only else "")

    def _update_enabled(self) -> None:
        has = self.store is not None
        writable = has and not self.store.read_only
        for spec in act.ACTIONS:
            a = self.actions[spec.id]
            enabled = (not spec.needs_project or has) and (not spec.edits or writable)
            a.setEnabled(enabled)

    def load_clips(self) -> None:
        if self.store is None:
            self.clip_model.set_clips([], {}, set())
            self._update_counts()
            self._update_empty_text()
            return
        clips = self.store.clips()
        blind = {c.id for c in clips if self.store.is_blind(c.id)}
        summary = views.clip_summaries(self.store)
        if blind:
            own = views.clip_summaries(self.store, annotator=self.annotator)
            summary.update({c: own[c] for c in blind if c in own})
        self.clip_model.set_clips(clips, summary, blind)
        self._update_counts()
        self._update_empty_text()

    def _keys_of(self, action_id: str) -> str:
        keys = act.display_keys(self.keymap.keys(action_id))
        return f" ({' / '.join(keys)})" if keys else ""

    def _update_empty_text(self) -> None:
        """What the empty strip says: the next step, with its keys."""
        text = ""
        if self.store is not None:
            if not self.clip_model.rowCount():
                text = ("No clips yet.\nFile ▸ Import videos…" + self._keys_of("file.import_videos")
                        + " or File ▸ Import clip table… adds them; or drop video files here.")
            elif self.clip_id is not None and not self.strip_model.frames():
                row = self.clip_model.row_of(self.clip_id)
                clip = self.clip_model.clips()[row] if row is not None else None
                if self.runner.busy:
                    text = "Working on it: the frames appear here as they are done."
                elif clip is not None and clip.extract_status == "damaged":
                    text = f"No frame could be read from this clip's video.\n{clip.error or ''}"
                elif clip is None or clip.source == "video":
                    text = ("No frames in this clip yet.\nFaces ▸ Extract and align this clip"
                            + self._keys_of("faces.process") + ", or all unfinished clips"
                            + self._keys_of("faces.process_all") + ".")
                else:
                    text = "This clip has no frames."
            elif self.clip_id is not None:
                text = "No frame matches the filter."
        self.strip.set_empty_text(text)

    def _refresh_summary(self, clip_id: str) -> None:
        if self.store is None:
            return
        who = self.annotator if self.store.is_blind(clip_id) else None
        got = views.clip_summaries(self.store, annotator=who, clip_id=clip_id)
        if clip_id in got:
            self.clip_model.set_summary(clip_id, got[clip_id])
        self._update_counts()

    # -- clip and strip -------------------------------------------------------------------------

    def _label_annotator(self, clip_id: str | None) -> str | None:
        """Whose labels the strip shows: the annotator's own in a blind pass, else final."""
        if self.store is not None and clip_id is not None and self.store.is_blind(clip_id):
            return self.annotator
        return None

    def set_clip(self, clip_id: str | None) -> None:
        if clip_id == self.clip_id or self.store is None:
            return
        self.clip_id = clip_id
        row = self.clip_model.row_of(clip_id) if clip_id else None
        if row is not None and self.clip_view.currentIndex().row() != row:
            self.clip_view.setCurrentIndex(self.clip_model.index(row))
        self.reload_clip(keep=False)
        self.clip_changed.emit(clip_id or "")

    def reload_clip(self, keep: bool = True) -> None:
        """Read the current clip again. With `keep`, the current frame, the selection and the
        scroll position stay (used while a job adds frames)."""
        if self.store is None or self.clip_id is None:
            self.strip_model.set_frames([], "")
            return
        who = self._label_annotator(self.clip_id)
        self._blind_clip = who is not None
        rows = views.clip_frames(self.store, self.clip_id, annotator=who)
        old = self.strip_model.frames()
        if keep and len(old) == len(rows) and all(a.id == b.id for a, b in zip(old, rows)):
            changed = [b for a, b in zip(old, rows) if a != b]
            self.strip_model.update_frames(changed)
        else:
            current = self.strip.current_frame() if keep else None
            selected = [f.id for f in self.strip.selected_frames()] if keep else []
            scroll = self.strip.verticalScrollBar().value()
            self.strip_model.set_frames(rows, str(self.store.folder))
            if current is not None and self.strip_model.row_of(current.id) is not None:
                self.strip.go_to_row(self.strip_model.row_of(current.id))
                self.strip.select_rows([r for f in selected
                                        if (r := self.strip_model.row_of(f)) is not None])
                self.strip.verticalScrollBar().setValue(scroll)
            elif rows:
                self.strip.go_to_row(0)
            # The clip's rows live until the next clip: keep the cyclic garbage collector from
            # walking them on every full collection (100,000 rows: 100 ms pauses mid-labelling).
            gc.freeze()
        self._refresh_summary(self.clip_id)
        self.filter_bar.set_count(self.strip_model.rowCount(), len(rows))
        self._update_annotator_label()
        self._update_empty_text()

    def _filter_changed(self, flt, sort) -> None:
        current = self.strip.current_frame()
        self.strip_model.set_view(flt, sort)
        self.filter_bar.set_count(self.strip_model.rowCount(), len(self.strip_model.frames()))
        if current is not None and self.strip_model.row_of(current.id) is not None:
            self.strip.go_to_row(self.strip_model.row_of(current.id))
        elif self.strip_model.rowCount():
            self.strip.go_to_row(0)
        self._update_empty_text()

    def active_view(self) -> FrameStripView:
        return self.review if self.tabs.currentIndex() == 1 else self.strip

    def _tab_changed(self, index: int) -> None:
        if index == 1 and self.review_model.rowCount() == 0 and self.store is not None:
            self.load_review(self.review_bar.query())
        self._on_current_frame(self.active_view().current_frame())

    def _on_current_frame(self, row: FrameRow | None) -> None:
        view = self.sender()
        if isinstance(view, FrameStripView) and view is not self.active_view():
            return
        self._schedule_preview(row)

    def _schedule_preview(self, row: FrameRow | None) -> None:
        """Show `row` in the preview once the keys pause for 40 ms (several changes of the
        current frame in a row cost one update)."""
        self._preview_row = row
        self._preview_timer.start()

    def _flush_preview(self) -> None:
        """Bring the preview up to date now (before acting on what it shows)."""
        if self._preview_timer.isActive():
            self._preview_timer.stop()
            self._update_preview()

    def _update_preview(self) -> None:
        row = self._preview_row
        if self.store is None or row is None:
            self.preview.show_frame(None, None, "")
            return
        try:
            face = self.store.face(row.id)
        except Exception:  # noqa: BLE001 - a frame removed under us: show what we have
            face = None
        self.preview.show_frame(row, face, str(self.store.folder))

    def _set_thumb_size(self, size: int) -> None:
        size = min(THUMB_SIZES, key=lambda s: abs(s - size))
        self.thumbs.set_max_side(size)
        self.strip.set_thumb_size(size)
        self.review.set_thumb_size(size)

    # -- edits --------------------------------------------------------------------------------

    def _targets(self) -> list[FrameRow]:
        return self.active_view().selected_frames()

    def refresh_frames(self, frame_ids: Iterable[int]) -> None:
        """Re-read the frames an edit touched and repaint only their items."""
        if self.store is None:
            return
        ids = list(frame_ids)
        if not ids:
            return
        rows = views.frames_by_id(self.store, ids, annotator=None)
        blind = {c for c in {r.clip for r in rows.values()} if self.store.is_blind(c)}
        blind_rows = [r for r in rows.values() if r.clip in blind]
        if blind_rows:
            rows.update(views.frames_by_id(self.store, [r.id for r in blind_rows],
                                           annotator=self.annotator))
        changed = self.strip_model.update_frames(rows.values())
        for old, new in changed:
            dl, df, ds = counts_delta(old, new)
            if dl or df or ds:
                self.clip_model.apply_delta(new.clip, dl, df, ds)
        self.review_model.update_frames(rows.values())
        other = {r.clip for r in rows.values()} - ({self.clip_id} if changed else set())
        for clip_id in other:
            self._refresh_summary(clip_id)
        self._update_counts()
        cur = self.active_view().current_frame()
        if cur is not None and cur.id in rows:
            self._schedule_preview(cur)
        self.history.schedule_refresh()
        self.frames_refreshed.emit()

    def _edit(self, frames: list[FrameRow], apply: Callable[[list[int]], int],
              empty: str = "Select one or more frames first") -> int | None:
        if self.store is None:
            return None
        if not frames:
            self.statusBar().showMessage(empty, 4000)
            return None
        ids = [f.id for f in frames]
        n = apply(ids)
        self.refresh_frames(ids)
        return n

    @guarded
    def label_selected(self, code: int | None) -> None:
        """Label the selected frames (None clears), then move to the frame after them."""
        view = self.active_view()
        rows = view.selected_rows()
        frames = view.selected_frames()
        n = self._edit(frames, lambda ids: self.store.set_labels(ids, code,
                                                                 annotator=self.annotator))
        if n is None:
            return
        what = f"{code} {CODES[code]}" if code else "no label"
        self.statusBar().showMessage(f"{len(frames)} frame(s): {what}", 2000)
        if code is not None and rows and rows[-1] + 1 < view.model().rowCount():
            view.go_to_row(rows[-1] + 1)

    @guarded
    def toggle_flag(self, reason: str) -> None:
        frames = self._targets()
        self._edit(frames, lambda ids: self.store.toggle_deletion(ids, reason))

    @guarded
    def add_flag(self, reason: str) -> None:
        frames = self._targets()
        self._edit(frames, lambda ids: self.store.set_deletion(ids, reason, True))

    @guarded
    def restore_frames(self) -> None:
        frames = self._targets()
        changes = [("deletion", {"frame": f.id, "reason": r}, False)
                   for f in frames for r in sorted(f.reasons)]
        self._edit(frames, lambda ids: self.store.apply_edits(changes, "restore (remove every "
                                                               "deletion reason)")
                   if changes else 0)

    @guarded
    def accept_suggestions(self) -> None:
        frames = self._targets()
        n = self._edit(frames, lambda ids: self.store.accept_suggestions(ids))
        if n == 0:
            self.statusBar().showMessage("No suggested flags on the selected frames", 4000)

    @guarded
    def dismiss_suggestions(self) -> None:
        frames = self._targets()
        self._edit(frames, lambda ids: self.store.dismiss_suggestions(ids))

    @guarded
    def toggle_irrelevant(self) -> None:
        frames = self._targets()
        value = not all(f.irrelevant for f in frames)
        self._edit(frames, lambda ids: self.store.set_irrelevant(ids, value))

    @guarded
    def fill_forward(self) -> None:
        """The current frame's code onto the following unlabelled frames, up to the next
        labelled frame or scene cut (filters.is_cut)."""
        if self.store is None:
            return
        if self.active_view() is not self.strip:
            self.statusBar().showMessage("Fill forward works in the frame strip", 4000)
            return
        cur = self.strip.current_frame()
        if cur is None or cur.code is None:
            self.statusBar().showMessage("The current frame has no label to fill forward", 4000)
            return
        rows = self.strip_model.frames()
        pos = self.strip_model.position_of(cur.id)
        targets, stop = fill_targets(rows, pos, typical_step(rows),
                                     lambda ids: views.track_marks(self.store, ids))
        if not targets:
            self.statusBar().showMessage("Nothing to fill: the next frame is labelled or after "
                                         "a scene cut", 4000)
            return
        self.store.set_labels(targets, cur.code, annotator=self.annotator,
                              description=f"fill forward {cur.code} ({CODES[cur.code]}) over "
                              f"{len(targets)} frames")
        self.refresh_frames(targets)
        end = rows[stop].id if stop is not None else targets[-1]
        r = self.strip_model.row_of(end)
        if r is not None:
            self.strip.go_to_row(r)
        why = "the end of the clip" if stop is None else (
            "a labelled frame" if rows[stop].code is not None else "a scene cut")
        self.statusBar().showMessage(f"Filled {len(targets)} frames with {cur.code} "
                                     f"{CODES[cur.code]}, up to {why}", 4000)

    @guarded
    def select_all(self) -> None:
        self.active_view().selectAll()

    # -- expression proposals (issue 17): ui/proposals.py does the work ---------------------------

    @guarded
    def accept_proposals(self, scope: str = "selection") -> None:
        self.proposals.accept(scope)

    @guarded
    def next_disagreement(self) -> None:
        self.proposals.next_disagreement()

    @guarded
    def propose_expressions(self, all_clips: bool = False) -> None:
        self.proposals.propose(all_clips)

    @guarded
    def propose_own_model(self) -> None:
        self.proposals.propose_own_model()

    # -- undo -----------------------------------------------------------------------------------

    @guarded
    def undo(self) -> None:
        self._undo_redo(undo=True)

    @guarded
    def redo(self) -> None:
        self._undo_redo(undo=False)

    def _undo_redo(self, undo: bool) -> None:
        if self.store is None:
            return
        step = self.store.undo(self.annotator) if undo else self.store.redo(self.annotator)
        if step is None:
            self.statusBar().showMessage(f"Nothing to {'undo' if undo else 'redo'}", 3000)
            return
        ids = [t["frame"] for _op, t, _o, _n in step.changes if "frame" in t]
        self._show_changed(ids)
        self.refresh_frames(ids)
        self.statusBar().showMessage(f"{'Undone' if undo else 'Redone'}: {step.description}",
                                     4000)

    @guarded
    def undo_to(self, batch: int) -> None:
        """Undo the annotator's own steps back to and including step `batch`."""
        if self.store is None:
            return
        steps = [s for s in views.recent_edits(self.store, 10_000, annotator=self.annotator)
                 if s.state == "done" and s.batch >= batch]
        if not any(s.batch == batch for s in steps):
            show_message(self, "Undo to here", "That step is not one of your steps that can be "
                         "undone (it is someone else's, already undone, or a log entry).")
            return
        ids: list[int] = []
        while True:
            step = self.store.can_undo(self.annotator)
            if step is None or step.batch < batch:
                break
            self.store.undo(self.annotator)
            ids += [t["frame"] for _op, t, _o, _n in step.changes if "frame" in t]
        self.refresh_frames(ids)
        self.statusBar().showMessage(f"Undone {len(steps)} step(s)", 4000)

    def _show_changed(self, ids: list[int]) -> None:
        """Bring the frames an undo touched into view (switching clip if needed)."""
        if not ids or self.store is None:
            return
        view = self.active_view()
        model: FrameStripModel = view.model()
        if not model.has_frame(ids[0]) and view is self.strip:
            try:
                clip, _ = self.store.frame_key(ids[0])
            except FeasstmError:
                return
            self.set_clip(clip)
        rows = [r for i in ids if (r := model.row_of(i)) is not None]
        if rows:
            view.go_to_row(rows[0])
            view.select_rows(rows)

    def _history_jump(self, step) -> None:
        if step.frame_id is not None and step.clip:
            self.go_to_frame(step.clip, step.frame_id)

    # -- navigation -----------------------------------------------------------------------------

    def navigate(self, where: str, extend: bool = False) -> None:
        self.active_view().navigate(where, extend)

    def go_to_frame(self, clip_id: str, frame_id: int) -> None:
        self.tabs.setCurrentIndex(0)
        self.set_clip(clip_id)
        if self.strip_model.row_of(frame_id) is None and self.strip_model.has_frame(frame_id):
            self.filter_bar.set_filter("all")
        r = self.strip_model.row_of(frame_id)
        if r is not None:
            self.strip.go_to_row(r)
            self.strip.setFocus()

    def _open_in_clip(self, row: FrameRow | None) -> None:
        if row is not None:
            self.go_to_frame(row.clip, row.id)

    @guarded
    def next_unlabelled(self) -> None:
        if self.store is None:
            return
        view = self.active_view()
        model: FrameStripModel = view.model()
        cur = view.current_frame()
        rows = model.visible_frames() if view is self.review else model.frames()
        start = 0
        if cur is not None:
            start = (rows.index(cur) + 1) if view is self.review else \
                (model.position_of(cur.id) or 0) + 1
        for row in rows[start:]:
            if row.code is None and not row.reasons and not row.irrelevant:
                if model.row_of(row.id) is None:
                    self.filter_bar.set_filter("all")
                view.go_to_row(model.row_of(row.id))
                return
        if view is self.review:
            self.statusBar().showMessage("No unlabelled frame after this one here", 4000)
            return
        nxt = views.next_clip_with_unlabelled(self.store, self.clip_id,
                                              annotator=self._label_annotator(self.clip_id))
        if nxt is None:
            self.statusBar().showMessage("Every frame of every clip is labelled or deleted",
                                         5000)
            return
        self.set_clip(nxt)
        fid = views.next_unlabelled(self.store, nxt, annotator=self._label_annotator(nxt))
        if fid is not None:
            self.go_to_frame(nxt, fid)
        self.statusBar().showMessage(f"Next clip with unlabelled frames: {nxt}", 4000)

    def next_clip(self) -> None:
        self._step_clip(1)

    def prev_clip(self) -> None:
        self._step_clip(-1)

    def _step_clip(self, step: int) -> None:
        n = self.clip_model.rowCount()
        if not n:
            return
        cur = self.clip_view.currentIndex().row()
        target = max(0, min(n - 1, cur + step))
        if target != cur:
            self.clip_view.setCurrentIndex(self.clip_model.index(target))

    # -- review grid ----------------------------------------------------------------------------

    def show_review(self) -> None:
        self.tabs.setCurrentIndex(1)
        self.review.setFocus()

    def show_strip(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.strip.setFocus()

    @guarded
    def load_review(self, query: dict) -> None:
        if self.store is None:
            self.review_model.set_frames([], "")
            return
        blind = any(self.store.is_blind(c.id) for c in self.clip_model.clips())
        rows = views.review_frames(self.store, annotator=self.annotator if blind else None,
                                   **query)
        self.review_model.set_frames(rows, str(self.store.folder))
        self.review_bar.count.setText(f"{len(rows):,} frames")
        if rows:
            self.review.go_to_row(0)

    # -- jobs -----------------------------------------------------------------------------------

    def start_job(self, title: str, factory, *, clip: str | None = None,
                  frames: list[int] | None = None, kind: str = "") -> bool:
        """Run a core job generator on the worker; one at a time."""
        if self.runner.busy:
            self.statusBar().showMessage(f"Wait for '{self.runner.title}' to finish, or cancel "
                                         "it", 5000)
            return False
        self._job_clip = clip
        self._job_frames = list(frames or [])
        self._job_kind = kind
        started = self.runner.start(title, factory)
        self._update_empty_text()
        return started

    @guarded
    def extract_clip(self) -> None:
        if self.store is None or self.clip_id is None:
            return
        store, clip = self.store, self.clip_id
        self.start_job(f"Extracting frames of {clip}", lambda: pipeline.extract_job(store, clip),
                       clip=clip, kind="clip")

    @guarded
    def align_clip(self) -> None:
        if self.store is None or self.clip_id is None:
            return
        store, clip = self.store, self.clip_id
        self.start_job(f"Aligning faces of {clip}", lambda: pipeline.align_job(store, clip),
                       clip=clip, kind="clip")

    @guarded
    def process_clip(self) -> None:
        """Extract and align the current clip in one pass."""
        if self.store is None or self.clip_id is None:
            return
        store, clip = self.store, self.clip_id
        self.start_job(f"Extracting and aligning {clip}",
                       lambda: pipeline.process_job(store, [clip]), clip=clip, kind="clip")

    @guarded
    def process_all(self) -> None:
        """Extract and align every clip not finished yet, one after the other."""
        if self.store is None:
            return
        from feasstm_gui.core.ingest.pipeline import unfinished_clips

        todo = unfinished_clips(self.store)
        if not todo:
            self.statusBar().showMessage("Every clip is already extracted and aligned", 5000)
            return
        store = self.store
        self.start_job(f"Extracting and aligning {len(todo)} clip(s)",
                       lambda: pipeline.process_job(store, todo), kind="clips")

    @guarded
    def project_settings(self) -> None:
        if self.store is None:
            return
        from feasstm_gui.ui.settings_dialog import open_project_settings

        open_project_settings(self, self.store)

    # -- importing clips

    #: video files the window offers to import (file dialog filter, files dropped)
    VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv",
                      ".webm", ".ts")
    VIDEO_FILTER = ("Videos (" + " ".join(f"*{x} *{x.upper()}" for x in VIDEO_SUFFIXES)
                    + ");;All files (*)")

    def _last_folder(self, key: str) -> str:
        folder = self.settings.get(key) or ""
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    @guarded
    def import_videos_dialog(self) -> None:
        if self.store is None:
            return
        paths, _ = QFileDialog.getOpenFileNames(self, "Choose the video files to import",
                                                self._last_folder("import.video_folder"),
                                                self.VIDEO_FILTER)
        if paths:
            self.settings.set("import.video_folder", str(Path(paths[0]).parent))
            self.ask_import_videos(paths)

    def ask_import_videos(self, paths: list[str]) -> None:
        """The metadata dialog for video files chosen or dropped, then the import job."""
        dlg = ImportVideosDialog(self, paths, self.settings.get("import.metadata") or {})
        if dlg.exec() != ImportVideosDialog.DialogCode.Accepted:
            return
        metadata = dlg.metadata()
        process = dlg.process.isChecked()
        self.settings.set("import.metadata", {**metadata, "process": process})
        self.import_videos(paths, metadata, process)

    def import_videos(self, paths: list[str], metadata: dict, process: bool) -> bool:
        """Add video files as clips (and extract and align them), on the worker."""
        store = self.store
        return self.start_job(f"Importing {len(paths)} video(s)",
                              lambda: pipeline.import_videos_job(store, paths, metadata, process),
                              kind="clips")

    @guarded
    def import_clips_dialog(self) -> None:
        if self.store is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Choose a clip table",
                                              self._last_folder("import.table_folder"),
                                              "Clip tables (*.csv *.txt);;All files (*)")
        if path:
            self.settings.set("import.table_folder", str(Path(path).parent))
            self.ask_import_clip_table(path)

    def ask_import_clip_table(self, path: str) -> None:
        answer = QMessageBox.question(
            self, "Import clip table",
            "Extract and align the new clips right after importing them?\n\n(Later is fine "
            "too: Faces ▸ Extract and align all unfinished clips.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
        if answer == QMessageBox.StandardButton.Cancel:
            return
        self.import_clip_table(path, answer == QMessageBox.StandardButton.Yes)

    # -- files dropped on the window: videos, a clip table, a project folder

    def _dropped(self, mime) -> tuple[str, list[str]]:
        """What a drag holds: ("videos", paths), ("table", [path]), ("project", [folder]), or
        ("", []) for anything else."""
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if not paths:
            return "", []
        if len(paths) == 1 and Path(paths[0], "project.sqlite").is_file():
            return "project", paths
        writable = self.store is not None and not self.store.read_only
        if writable and all(Path(p).suffix.lower() in self.VIDEO_SUFFIXES for p in paths):
            return "videos", paths
        if writable and len(paths) == 1 and Path(paths[0]).suffix.lower() == ".csv":
            return "table", paths
        return "", []

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._dropped(event.mimeData())[0] and not self.runner.busy:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        kind, paths = self._dropped(event.mimeData())
        if not kind:
            event.ignore()
            return
        event.acceptProposedAction()
        # after the drop returns: the dialogs must not run inside the drag's event
        QTimer.singleShot(0, lambda: self._open_dropped(kind, paths))

    @guarded
    def _open_dropped(self, kind: str, paths: list[str]) -> None:
        if kind == "project":
            self.open_path(paths[0])
        elif kind == "videos":
            self.ask_import_videos(paths)
        elif kind == "table":
            self.ask_import_clip_table(paths[0])

    def import_clip_table(self, path: str, process: bool) -> bool:
        store = self.store
        return self.start_job(f"Importing {Path(path).name}",
                              lambda: pipeline.import_clips_job(store, path, process),
                              kind="clips")

    @guarded
    def realign_selected(self) -> None:
        frames = self._targets()
        if not frames or self.store is None:
            self.statusBar().showMessage("Select the frames to re-align first", 4000)
            return
        drawn = self.preview.fix_mode and self.preview.row is not None
        dlg = RealignDialog(self, len(frames), drawn)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def go() -> None:
            options = dlg.options()
            if dlg.use_drawn.isChecked():
                box, landmarks = self.preview.drawn()
                options.update(box=box, landmarks=landmarks)
                self.preview.end_fix()
            self.start_realign([f.id for f in frames], options)

        dlg.accepted.connect(go)
        dlg.open()

    def start_realign(self, frame_ids: list[int], options: dict) -> bool:
        store = self.store
        if store is None:
            return False
        return self.start_job(f"Re-aligning {len(frame_ids)} frame(s)",
                              lambda: pipeline.realign_job(store, frame_ids, options),
                              clip=self.clip_id, frames=frame_ids, kind="frames")

    def toggle_fix_mode(self) -> None:
        self._flush_preview()
        if self.preview.fix_mode:
            self.preview.end_fix()
        elif not self.preview.begin_fix():
            self.statusBar().showMessage("Select a frame with a source image to draw on", 4000)
        else:
            self.preview_dock.show()
            self.statusBar().showMessage("Drag the box corners and the landmarks, then "
                                         "'Re-align with this box and landmarks'", 6000)

    def _fix_applied(self, frame_id: int, box, landmarks) -> None:
        self.start_realign([frame_id], {"box": box, "landmarks": landmarks})

    @guarded
    def mark_actor(self) -> None:
        if self.store is None:
            return
        self._flush_preview()
        row = self.preview.row
        if row is None:
            self.statusBar().showMessage("Select the frame that shows the actor first", 4000)
            return
        box, _ = self.preview.drawn()
        store, clip = self.store, row.clip
        self.start_job(f"Following the actor from frame {row.frame_index}",
                       lambda: pipeline.actor_job(store, row.id, box), clip=clip, kind="clip")

    def cancel_job(self) -> None:
        self.runner.cancel()

    def _job_progress(self, progress) -> None:
        if self.store is None:
            return
        if self._job_kind == "frames" and self._job_frames:
            self.refresh_frames(self._job_frames)
        elif self._job_clip is not None and self._job_clip == self.clip_id:
            if not self._reload_timer.isActive():
                big = len(self.strip_model.frames()) > 20_000
                self._reload_timer.start(2000 if big else 500)
        elif self._job_kind == "clips" and not self._clips_timer.isActive():
            # new clips and their counts, as they come; at most 2 % of the GUI thread's time
            # (re-reading the clip list of a 100,000-frame project takes about 80 ms)
            self._clips_timer.start(max(2000, int(50 * self._clips_refresh_ms)))

    def _refresh_clips_during_job(self) -> None:
        if self.store is None or not self.runner.busy:
            return
        started = time.perf_counter()
        try:
            self.load_clips_keep()
            if self.clip_id is None and self.clip_model.rowCount():
                self.clip_view.setCurrentIndex(self.clip_model.index(0))
        except Exception as exc:  # noqa: BLE001
            self.report_error(exc)
        self._clips_refresh_ms = (time.perf_counter() - started) * 1000

    def _job_finished(self, outcome: JobOutcome) -> None:
        self._reload_timer.stop()
        self._clips_timer.stop()
        if self.store is not None:
            try:
                if self._job_kind == "frames" and self._job_frames:
                    self.refresh_frames(self._job_frames)
                    if self._job_clip == self.clip_id:
                        self.reload_clip(keep=True)
                else:
                    self.load_clips_keep()
                    if self.clip_id is None and self.clip_model.rowCount():
                        self.clip_view.setCurrentIndex(self.clip_model.index(0))
            except Exception as exc:  # noqa: BLE001
                self.report_error(exc)
        if outcome.error is not None:
            show_error(self, outcome.error, outcome.title)
            return
        result = outcome.result
        done = result.done if result else 0
        problems = result.problems if result else []
        if outcome.cancelled:
            msg = f"{outcome.title}: cancelled after {done}; what was done is kept"
        else:
            msg = f"{outcome.title}: done ({done})" + (f", {result.summary}"
                                                      if result and result.summary else "")
        self.statusBar().showMessage(msg, 8000)
        if problems:
            lines = "\n".join(str(p) for p in problems[:200])
            show_message(self, outcome.title, f"{len(problems)} problem(s) were reported. "
                         "The frames concerned are marked in the strip.", lines)

    def load_clips_keep(self) -> None:
        """Reload the clip list and the current clip, keeping the selection."""
        current = self.clip_id
        self.load_clips()
        if current is not None and self.clip_model.row_of(current) is not None:
            self.clip_view.blockSignals(True)
            self.clip_view.setCurrentIndex(self.clip_model.index(self.clip_model.row_of(current)))
            self.clip_view.blockSignals(False)
            self.reload_clip(keep=True)

    def _wait_for_job(self, msecs: int = 10000) -> None:
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(msecs)
        QApplication.processEvents()

    # -- status and messages ----------------------------------------------------------------------

    def _update_counts(self) -> None:
        """The status bar's counts, at most every 100 ms (the clip list is exact at once)."""
        if not self._counts_timer.isActive():
            self._counts_timer.start()

    def _show_counts(self) -> None:
        if self.store is None:
            self.counts_label.setText("no project")
            return
        summaries = [self.clip_model.summary(c.id) for c in self.clip_model.clips()]
        total = sum(s.total for s in summaries)
        labelled = sum(s.labelled for s in summaries)
        flagged = sum(s.flagged for s in summaries)
        text = f"project: {labelled:,} labelled · {flagged:,} deleted · {total:,} frames"
        if self.clip_id is not None:
            s = self.clip_model.summary(self.clip_id)
            text = (f"clip: {s.labelled:,} labelled · {s.flagged:,} deleted · "
                    f"{s.suggested:,} suggested · {s.total:,} frames   |   " + text)
        self.counts_label.setText(text)

    def _update_annotator_label(self) -> None:
        blind = " (blind pass: your labels only)" if self._blind_clip else ""
        self.annotator_label.setText(f"annotator: {self.annotator}{blind}")

    def report_error(self, exc: BaseException | str) -> None:
        show_error(self, exc)

    def _crop_failed(self, row: FrameRow, reason: str) -> None:
        key = f"{row.clip}/{row.crop}"
        if key in self._reported:
            return
        self._reported.add(key)
        self.statusBar().showMessage(
            f"Crop of clip '{row.clip}' frame {row.frame_index} cannot be shown ({reason}): "
            f"{row.crop}. Re-align the frame (R) or restore the file.", 15000)

    def _image_failed(self, path: str, reason: str) -> None:
        if path not in self._reported:
            self._reported.add(path)
            self.setProperty("last_image_problem", f"{path}: {reason}")

    # -- other handlers ---------------------------------------------------------------------------

    def focus_filter(self) -> None:
        self.show_strip()
        self.filter_bar.filter_box.setFocus()
        self.filter_bar.filter_box.showPopup()

    @guarded
    def refresh_all(self) -> None:
        if self.tabs.currentIndex() == 1:
            self.load_review(self.review_bar.query())
            return
        self.strip_model.set_view()
        self.load_clips_keep()

    def zoom(self, step: int) -> None:
        cur = self.strip.delegate.thumb
        i = min(range(len(THUMB_SIZES)), key=lambda k: abs(THUMB_SIZES[k] - cur))
        self._set_thumb_size(THUMB_SIZES[max(0, min(len(THUMB_SIZES) - 1, i + step))])

    def toggle_key_overlay(self) -> None:
        self.overlay.toggle()

    def edit_keymap(self) -> None:
        dlg = KeymapEditor(self.keymap, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(self.apply_keymap)
        dlg.open()

    def apply_keymap(self) -> None:
        act.apply_keymap(self.actions, self.keymap)
        self.overlay.rebuild()

    def change_annotator(self) -> None:
        name = ask_annotator(self, self.annotator)
        if not name:
            return
        self.settings.set("annotator", name)
        import os

        if os.environ.get("FEASSTM_ANNOTATOR"):
            show_message(self, "Annotator", "FEASSTM_ANNOTATOR is set in the environment and "
                         "wins over this setting; unset it to use the new name.")
            return
        self.set_annotator(name)

    def set_annotator(self, name: str) -> None:
        self.annotator = name
        if self.store is not None:
            self.store.annotator = name
            self.history.set_store(self.store, name)
            self.load_clips_keep()
        self._update_annotator_label()

    def about(self) -> None:
        show_message(self, "About FEASSTM Studio",
                     f"FEASSTM Studio {__version__}: label facial expressions frame by frame "
                     "and build the FEASSTM dataset.", icon=QMessageBox.Icon.Information)

    def show_welcome(self) -> None:
        from feasstm_gui.ui.welcome import WelcomeDialog, open_sample

        dlg = WelcomeDialog(self.settings.get("recent_projects", []) or [], self)
        if not dlg.exec():
            return
        if dlg.choice == "sample":
            open_sample(self)
        elif dlg.choice == "open":
            self.open_project_dialog()
        elif dlg.choice == "new":
            self.new_project_dialog()
        elif dlg.choice == "import_faf":
            self.import_faf_dialog()
        elif dlg.choice == "recent" and dlg.path:
            self.open_path(dlg.path)

    def open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a FEASSTM project folder")
        if folder:
            self.open_path(folder)

    @guarded
    def new_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an empty folder for the new "
                                                  "project (or make one in this dialog)")
        if not folder:
            return
        name, ok = QInputDialog.getText(self, "New project", "Project name:",
                                        text=Path(folder).name)
        if not ok:
            return
        self.set_store(Store.create(folder, annotator=self.annotator, name=name or None))

    @guarded
    def import_faf_dialog(self) -> None:
        src = QFileDialog.getExistingDirectory(self, "Choose the FAF folder to import (one "
                                               "folder of images per clip, with its TXT)")
        if not src:
            return
        dest = QFileDialog.getExistingDirectory(self, "Choose an empty folder for the new "
                                                "project")
        if not dest:
            return
        self.import_faf(src, dest)

    def import_faf(self, src: str, dest: str) -> bool:
        self.set_store(Store.create(dest, annotator=self.annotator, name=Path(src).name))
        store = self.store
        return self.start_job(f"Importing {Path(src).name}",
                              lambda: pipeline.import_faf_job(store, src), kind="clips")

    @guarded
    def close_project(self) -> None:
        self.set_store(None)

    @guarded
    def restore_backup_dialog(self) -> None:
        """Choose one of the project's backups and restore it (feasstm restore, in the window)."""
        if self.store is None or self.store.read_only:
            return
        backups = self.store.backups()
        if not backups:
            self.statusBar().showMessage("This project has no backup yet", 5000)
            return
        path, _ = QFileDialog.getOpenFileName(self, "Restore a backup of the project",
                                              str(backups[-1]), "Backups (project-*.sqlite)")
        if not path:
            return
        answer = QMessageBox.question(
            self, "Restore backup",
            f"Replace the project's database by {Path(path).name}?\n\nEdits made since that "
            "backup are no longer shown; the current database is kept as a backup first.")
        if answer == QMessageBox.StandardButton.Yes:
            self.restore_from(path)

    def restore_from(self, backup: str | Path) -> bool:
        """Close the project, restore `backup` into it, open it again."""
        folder = self.store.folder
        self.set_store(None)
        try:
            restore_backup(folder, backup)
        except FeasstmError as exc:
            self.report_error(exc)
        opened = self.open_path(folder)
        if opened:
            self.statusBar().showMessage(f"Restored {Path(backup).name}", 8000)
        return opened

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.runner.busy:
            self.runner.cancel()
            self._wait_for_job()
        self._save_geometry()
        self._reload_timer.stop()
        self._clips_timer.stop()
        self.history.set_store(None, self.annotator)
        self.thumbs.clear()
        self.thumbs.wait(2000)
        self.frame_images.clear()
        self.frame_images.wait(2000)
        if self.store is not None:
            self.store.close()
            self.store = None
        super().closeEvent(event)
