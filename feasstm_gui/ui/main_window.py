"""The labelling workstation's window: clip list, frame strip, preview, legend, history, review
grid, and their wiring.

The store is the single source of truth: every key press runs one command of the annotator's
session (core/labels/session.py), committed at once with its edit-log row, then re-reads only
the frames it changed and repaints their items. There is no save step.

What the actions do lives in the controllers beside this module: `edits` (ui/editing.py),
`nav` (navigation.py), `jobs` (job_control.py), `project` (project_control.py), `tools`
(tools.py). Actions (ui/actions.py) name a callable taking the window; menus, toolbar, keys
and the key overlay are built from that registry.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from feasstm_gui.core.errors import ProjectLocked
from feasstm_gui.core.labels.session import Session
from feasstm_gui.core.settings import Settings, config_dir, resolve_annotator
from feasstm_gui.core.store import FrameRow, Store
from feasstm_gui.ui import actions as act
from feasstm_gui.ui import clip_list, label_state, live_updates, player_panel, review_pages
from feasstm_gui.ui.clips import ClipListModel, ClipListView, ClipRole
from feasstm_gui.ui.controller import guarded
from feasstm_gui.ui.dialogs import KeymapEditor, KeyOverlay, show_error
from feasstm_gui.ui.editing import EditController
from feasstm_gui.ui.history import HistoryPanel
from feasstm_gui.ui.job_control import JobController, JobTarget
from feasstm_gui.ui.navigation import THUMB_SIZES, NavigationController
from feasstm_gui.ui.panels import FilterBar, LegendBar, ReviewBar
from feasstm_gui.ui.preview import PreviewWidget
from feasstm_gui.ui.project_control import ProjectController
from feasstm_gui.ui.proposals import ProposalController
from feasstm_gui.ui.status_bar import StatusController
from feasstm_gui.ui.strip import FrameStripModel, FrameStripView
from feasstm_gui.ui.style import action_icon
from feasstm_gui.ui.thumbs import ImageLoader
from feasstm_gui.ui.tools import ToolsController
from feasstm_gui.ui.workers import JobFactory, JobRunner


class MainWindow(QMainWindow):
    project_changed = Signal()
    clip_changed = Signal(str)
    frames_refreshed = Signal()  # after an edit's frames were re-read and repainted

    def __init__(self, settings: Settings | None = None, annotator: str | None = None):
        super().__init__()
        self.settings = settings or Settings.load()
        self.keymap = act.Keymap(self.settings)
        self.annotator = annotator or resolve_annotator(self.settings)
        self.store: Store | None = None
        self.session: Session | None = None
        self.setAcceptDrops(True)  # video files, a clip table or a project folder
        self.setWindowTitle("FEASSTM Studio")
        self.resize(1400, 880)

        self.thumbs = ImageLoader(max_bytes=96 << 20, max_side=96, exact=True, threads=2,
                                  parent=self)
        self.frame_images = ImageLoader(max_bytes=48 << 20, max_side=1600, threads=1,
                                        max_pending=4, parent=self)

        self.runner = JobRunner(self)
        self.edits = EditController(self)
        self.nav = NavigationController(self)
        self.jobs = JobController(self)
        self.project = ProjectController(self)
        self.tools = ToolsController(self)

        self._build_central()
        self._build_docks()
        self.clip_list = clip_list.install(self)  # filter bar, counts read off this thread
        self.review_pages = review_pages.install(self)  # the review grid a page at a time
        self.status_info = StatusController(self)
        self.thumbs.failed.connect(self.status_info.image_failed)
        self.strip_model.crop_failed.connect(self.status_info.crop_failed)
        self.job_panel = self.status_info.job_panel
        self.annotator_label = self.status_info.annotator_label
        self.status_info.update_annotator_label(False)
        self.actions = act.build_actions(self, self.keymap, action_icon)
        act.attach(self.actions, self, [self.workspace, self.preview])
        self.player_panel = player_panel.install(self)  # the clip's video beside the strip
        self.menus = act.build_menus(self.menuBar(), self.actions)
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
        self.proposals = ProposalController(self)  # expression proposals (issue 17)
        self._restore_geometry()
        self._update_enabled()
        label_state.install(self)  # disagreements, scene cuts, read-only notice, last position
        self.live = live_updates.install(self)  # a team project: others' edits, server lost

    @property
    def clip_id(self) -> str | None:
        """The clip shown in the strip (the session's current clip)."""
        return self.session.clip_id if self.session is not None else None

    # -- layout -------------------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        """A dock (its object name keeps its place in the saved window state)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}-dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _frame_view(self, name: str) -> tuple[FrameStripModel, FrameStripView]:
        """A frame strip (the clip's, or the review grid) over its own model."""
        model = FrameStripModel(self.thumbs, self)
        view = FrameStripView()
        view.setObjectName(name)
        view.setModel(model)
        view.current_frame_changed.connect(self._on_current_frame)
        return model, view

    def _build_central(self) -> None:
        self.strip_model, self.strip = self._frame_view("frame-strip")
        self.filter_bar = FilterBar()
        self.filter_bar.changed.connect(self._filter_changed)
        clip_page = _page(self.filter_bar, self.strip)

        self.review_model, self.review = self._frame_view("review-grid")
        self.review_model.show_clip = True
        self.review.activated_frame.connect(self._open_in_clip)
        self.review_bar = ReviewBar()
        self.review_bar.changed.connect(self.load_review)
        review_page = _page(self.review_bar, self.review)

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
        self.clips_dock = self._dock("Clips", self.clip_view, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.preview = PreviewWidget(self.frame_images, self.frame_images)
        self.preview.fix_applied.connect(self.jobs.fix_applied)
        self.preview_dock = self._dock("Preview", self.preview,
                                       Qt.DockWidgetArea.RightDockWidgetArea)

        self.history = HistoryPanel()
        self.history.jump.connect(self._history_jump)
        self.history.undo_requested.connect(self.edits.undo)
        self.history.redo_requested.connect(self.edits.redo)
        self.history.undo_to_requested.connect(self.edits.undo_to)
        self.history_dock = self._dock("History", self.history,
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.resizeDocks([self.clips_dock, self.preview_dock], [280, 520],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.clips_dock, self.history_dock], [520, 260],
                         Qt.Orientation.Vertical)

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
                self.set_thumb_size(int(size))
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

    def open_path(self, folder, read_only: bool = False) -> bool:
        """Open a project (project_control.ProjectController.open_path)."""
        return self.project.open_path(folder, read_only)

    def set_store(self, store: Store | None) -> None:
        """Show a project (or none). The previous one is closed."""
        self.jobs.stop()
        self.clip_list.stop()
        if self.store is not None and self.store is not store:
            self.store.close()
        self.store = store
        self.session = Session(store, self.annotator) if store is not None else None
        self.thumbs.clear()
        self.frame_images.clear()
        self.status_info.forget_reported()
        self.strip_model.set_frames([], "")
        self.review_model.set_frames([], "")
        self._preview_row = None
        self.preview.show_frame(None, None, "")
        if store is not None:
            if not store.read_only:
                self.settings.add_recent_project(store.folder)
        self._update_title()
        self.load_clips()
        self.history.set_store(store, self.annotator)
        self._update_enabled()
        self.select_first_clip_if_none()
        self.strip.setFocus()
        self.project_changed.emit()

    def _update_title(self) -> None:
        self.status_info.update_mode()
        if self.store is None:
            self.setWindowTitle("FEASSTM Studio")
            return
        ro = " [read-only]" if self.store.read_only else ""
        self.setWindowTitle(f"{self.store.name}{ro} — FEASSTM Studio")

    def _update_enabled(self) -> None:
        has = self.store is not None
        writable = has and not self.store.read_only
        for spec in act.WINDOW_ACTIONS:
            a = self.actions[spec.id]
            enabled = (not spec.needs_project or has) and (not spec.edits or writable)
            a.setEnabled(enabled)

    def load_clips(self) -> None:
        self.clip_list.load()  # ui/clip_list.py: the counts come a chunk at a time
        self.status_info.update_counts()
        self.status_info.update_empty_text()

    def select_first_clip_if_none(self) -> None:
        if self.clip_id is None and self.clip_model.rowCount():
            self.clip_view.setCurrentIndex(self.clip_model.index(0))

    # -- clip and strip -------------------------------------------------------------------------

    def set_clip(self, clip_id: str | None) -> None:
        if clip_id == self.clip_id or self.session is None:
            return
        self.session.clip_id = clip_id
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
        rows = self.session.clip_rows(self.clip_id)
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
        # the clip's counts: read off this thread when not known yet, or when a job may have
        # added frames (`keep`); edits move them as they come (refresh_frames)
        if keep:
            self.clip_model.recount(self.clip_id)
        elif self.clip_id not in self.clip_model.known():
            self.clip_model.recount(self.clip_id, changed=False)
        self.status_info.update_counts()
        self.filter_bar.set_count(self.strip_model.rowCount(), len(rows))
        self.status_info.update_annotator_label(self.session.is_blind(self.clip_id))
        self.status_info.update_empty_text()

    def _filter_changed(self, flt, sort) -> None:
        current = self.strip.current_frame()
        self.strip_model.set_view(flt, sort)
        self.filter_bar.set_count(self.strip_model.rowCount(), len(self.strip_model.frames()))
        if current is not None and self.strip_model.row_of(current.id) is not None:
            self.strip.go_to_row(self.strip_model.row_of(current.id))
        elif self.strip_model.rowCount():
            self.strip.go_to_row(0)
        self.status_info.update_empty_text()

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

    def flush_preview(self) -> None:
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

    def set_thumb_size(self, size: int) -> None:
        size = min(THUMB_SIZES, key=lambda s: abs(s - size))
        self.thumbs.set_max_side(size)
        self.strip.set_thumb_size(size)
        self.review.set_thumb_size(size)

    # -- repainting what changed ------------------------------------------------------------------

    def refresh_frames(self, frame_ids: Iterable[int]) -> None:
        """Re-read the frames an edit touched and repaint only their items."""
        if self.session is None:
            return
        ids = list(frame_ids)
        if not ids:
            return
        rows = self.session.rows(ids)
        disputed = self.strip_model.open_dispute_count()
        changed = self.strip_model.update_frames(rows.values())
        disputed = self.strip_model.open_dispute_count() - disputed
        for old, new in changed:  # the clip's counts move by the frames' old and new state
            self.clip_model.apply_change(old, new)
        if disputed:
            self.clip_model.apply_delta(self.clip_id, 0, 0, 0, disputed=disputed)
        self.review_model.update_frames(rows.values())
        other = {r.clip for r in rows.values()} - ({self.clip_id} if changed else set())
        for clip_id in other:  # edited in the review grid, or by an undo: read again
            self.clip_model.recount(clip_id)
        self.status_info.update_counts()
        cur = self.active_view().current_frame()
        if cur is not None and cur.id in rows:
            self._schedule_preview(cur)
        self.history.schedule_refresh()
        self.frames_refreshed.emit()

    def _history_jump(self, step) -> None:
        if step.frame_id is not None and step.clip:
            self.go_to_frame(step.clip, step.frame_id)

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
    def load_review(self, query: dict) -> None:
        self.review_pages.load(query)  # ui/review_pages.py

    # -- jobs -----------------------------------------------------------------------------------

    def start_job(self, title: str, factory: JobFactory, target: JobTarget | None = None
                  ) -> bool:
        """Run a core job generator on the worker; one at a time (job_control)."""
        return self.jobs.start(title, factory, target)

    def load_clips_keep(self) -> None:
        """Reload the clip list and the current clip, keeping the selection."""
        current = self.clip_id
        self.load_clips()
        if current is not None and self.clip_model.clip(current) is not None:
            if self.clip_model.row_of(current) is not None:  # shown (the filter may hide it)
                self.clip_view.blockSignals(True)
                self.clip_view.setCurrentIndex(self.clip_model.index(
                    self.clip_model.row_of(current)))
                self.clip_view.blockSignals(False)
            self.reload_clip(keep=True)

    # -- status and messages ----------------------------------------------------------------------

    def report_error(self, exc: BaseException | str) -> None:
        if self.live.refused(exc):  # the server away: the banner, not a dialog per key
            return
        show_error(self, exc)

    # -- keys and the annotator ------------------------------------------------------------------

    def edit_keymap(self) -> None:
        dlg = KeymapEditor(self.keymap, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(self.apply_keymap)
        dlg.open()

    def apply_keymap(self) -> None:
        act.apply_keymap(self.actions, self.keymap)
        self.overlay.rebuild()

    def set_annotator(self, name: str) -> None:
        self.annotator = name
        if self.session is not None:
            self.session.set_annotator(name)
            self.history.set_store(self.store, name)
            self.load_clips_keep()
        self.status_info.update_annotator_label(
            self.session is not None and self.session.is_blind(self.clip_id))

    # -- files dropped on the window: videos, a clip table, a project folder ------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.project.accepts_drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.project.drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.jobs.stop()
        self.live.detach()
        self.clip_list.stop()
        self._save_geometry()
        self.history.set_store(None, self.annotator)
        self.thumbs.clear()
        self.thumbs.wait(2000)
        self.frame_images.clear()
        self.frame_images.wait(2000)
        if self.store is not None:
            self.store.close()
            self.store = None
        super().closeEvent(event)


def _page(bar: QWidget, view: QWidget) -> QWidget:
    """A tab's page: its bar above its frame view."""
    page = QWidget()
    lay = QVBoxLayout(page)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(bar)
    lay.addWidget(view, 1)
    return page
