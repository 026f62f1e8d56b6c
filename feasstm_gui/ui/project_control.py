"""Projects in the window: open, create, import (FAF folder, videos, clip table, files dropped),
restore a backup, the welcome dialog, the annotator's name."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from feasstm_gui import __version__
from feasstm_gui.core.errors import FeasstmError, ProjectLocked
from feasstm_gui.core.store import Store, restore_backup
from feasstm_gui.core.store.lock import describe_holder
from feasstm_gui.ui import pipeline_adapter as pipeline
from feasstm_gui.ui.controller import Controller, guarded
from feasstm_gui.ui.dialogs import ImportVideosDialog, ask_annotator, show_message
from feasstm_gui.ui.job_control import JobTarget

#: video files the window offers to import (file dialog filter, files dropped)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv",
                  ".webm", ".ts")
VIDEO_FILTER = ("Videos (" + " ".join(f"*{x} *{x.upper()}" for x in VIDEO_SUFFIXES)
                + ");;All files (*)")


class ProjectController(Controller):
    # -- open and create ---------------------------------------------------------------------

    def open_path(self, folder: str | Path, read_only: bool = False) -> bool:
        """Open a project; a project held by another instance is offered read-only
        (window.ask_read_only decides)."""
        w = self.window
        try:
            store = Store.open(folder, annotator=w.annotator, read_only=read_only)
        except ProjectLocked as exc:
            who = describe_holder(exc.holder)
            self.status(f"The project is open for writing by {who}", 10000)
            if not w.ask_read_only(exc):
                self.report_error(exc)
                return False
            try:
                store = Store.open(folder, annotator=w.annotator, read_only=True)
            except Exception as exc2:  # noqa: BLE001
                self.report_error(exc2)
                return False
        except Exception as exc:  # noqa: BLE001
            self.report_error(exc)
            return False
        w.set_store(store)
        return True

    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open a FEASSTM project folder")
        if folder:
            self.open_path(folder)

    @guarded
    def new_dialog(self) -> None:
        w = self.window
        folder = QFileDialog.getExistingDirectory(w, "Choose an empty folder for the new "
                                                  "project (or make one in this dialog)")
        if not folder:
            return
        name, ok = QInputDialog.getText(w, "New project", "Project name:",
                                        text=Path(folder).name)
        if not ok:
            return
        w.set_store(Store.create(folder, annotator=w.annotator, name=name or None))

    @guarded
    def close(self) -> None:
        self.window.set_store(None)

    def show_welcome(self) -> None:
        from feasstm_gui.ui.welcome import WelcomeDialog, open_sample

        dlg = WelcomeDialog(self.window.settings.get("recent_projects", []) or [], self.window)
        if not dlg.exec():
            return
        if dlg.choice == "sample":
            open_sample(self.window)
        elif dlg.choice == "open":
            self.open_dialog()
        elif dlg.choice == "new":
            self.new_dialog()
        elif dlg.choice == "import_faf":
            self.import_faf_dialog()
        elif dlg.choice == "recent" and dlg.path:
            self.open_path(dlg.path)

    @guarded
    def settings_dialog(self) -> None:
        if self.store is None:
            return
        from feasstm_gui.ui.settings_dialog import open_project_settings

        open_project_settings(self.window, self.store)

    # -- backups -----------------------------------------------------------------------------

    @guarded
    def restore_backup_dialog(self) -> None:
        """Choose one of the project's backups and restore it (feasstm restore, in the window)."""
        if self.store is None or self.store.read_only:
            return
        backups = self.store.backups()
        if not backups:
            self.status("This project has no backup yet", 5000)
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Restore a backup of the project",
                                              str(backups[-1]), "Backups (project-*.sqlite)")
        if not path:
            return
        answer = QMessageBox.question(
            self.window, "Restore backup",
            f"Replace the project's database by {Path(path).name}?\n\nEdits made since that "
            "backup are no longer shown; the current database is kept as a backup first.")
        if answer == QMessageBox.StandardButton.Yes:
            self.restore_from(path)

    def restore_from(self, backup: str | Path) -> bool:
        """Close the project, restore `backup` into it, open it again."""
        folder = self.store.folder
        self.window.set_store(None)
        try:
            restore_backup(folder, backup)
        except FeasstmError as exc:
            self.report_error(exc)
        opened = self.open_path(folder)
        if opened:
            self.status(f"Restored {Path(backup).name}", 8000)
        return opened

    # -- the annotator -----------------------------------------------------------------------

    def change_annotator(self) -> None:
        w = self.window
        name = ask_annotator(w, w.annotator)
        if not name:
            return
        w.settings.set("annotator", name)
        if os.environ.get("FEASSTM_ANNOTATOR"):
            show_message(w, "Annotator", "FEASSTM_ANNOTATOR is set in the environment and "
                         "wins over this setting; unset it to use the new name.")
            return
        w.set_annotator(name)

    def about(self) -> None:
        show_message(self.window, "About FEASSTM Studio",
                     f"FEASSTM Studio {__version__}: label facial expressions frame by frame "
                     "and build the FEASSTM dataset.", icon=QMessageBox.Icon.Information)

    # -- imports -----------------------------------------------------------------------------

    @guarded
    def import_faf_dialog(self) -> None:
        src = QFileDialog.getExistingDirectory(self.window, "Choose the FAF folder to import "
                                               "(one folder of images per clip, with its TXT)")
        if not src:
            return
        dest = QFileDialog.getExistingDirectory(self.window, "Choose an empty folder for the "
                                                "new project")
        if not dest:
            return
        self.import_faf(src, dest)

    def import_faf(self, src: str, dest: str) -> bool:
        w = self.window
        w.set_store(Store.create(dest, annotator=w.annotator, name=Path(src).name))
        store = w.store
        return w.jobs.start(f"Importing {Path(src).name}",
                            lambda: pipeline.import_faf_job(store, src), JobTarget.new_clips())

    def _last_folder(self, key: str) -> str:
        folder = self.window.settings.get(key) or ""
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def _choose_files(self, title: str, folder_key: str, filters: str, *,
                      many: bool = False) -> list[str]:
        """Files chosen in a file dialog that opens where the last ones of this kind were (the
        folder is remembered in the preferences under `folder_key`)."""
        ask = QFileDialog.getOpenFileNames if many else QFileDialog.getOpenFileName
        chosen, _ = ask(self.window, title, self._last_folder(folder_key), filters)
        paths = list(chosen) if many else [chosen] if chosen else []
        if paths:
            self.window.settings.set(folder_key, str(Path(paths[0]).parent))
        return paths

    @guarded
    def import_videos_dialog(self) -> None:
        if self.store is None:
            return
        paths = self._choose_files("Choose the video files to import", "import.video_folder",
                                   VIDEO_FILTER, many=True)
        if paths:
            self.ask_import_videos(paths)

    def ask_import_videos(self, paths: list[str]) -> None:
        """The metadata dialog for video files chosen or dropped, then the import job."""
        settings = self.window.settings
        dlg = ImportVideosDialog(self.window, paths, settings.get("import.metadata") or {},
                                 choose_files=self._choose_files)
        if dlg.exec() != ImportVideosDialog.DialogCode.Accepted:
            return
        metadata = dlg.metadata()
        process = dlg.process.isChecked()
        remembered = {k: v for k, v in metadata.items() if k != "actor_photos"}  # per import
        settings.set("import.metadata", {**remembered, "process": process})
        self.import_videos(paths, metadata, process)

    def import_videos(self, paths: list[str], metadata: dict, process: bool) -> bool:
        """Add video files as clips (and extract and align them), on the worker."""
        store = self.store
        return self.window.jobs.start(
            f"Importing {len(paths)} video(s)",
            lambda: pipeline.import_videos_job(store, paths, metadata, process),
            JobTarget.new_clips())

    @guarded
    def import_clips_dialog(self) -> None:
        if self.store is None:
            return
        paths = self._choose_files("Choose a clip table", "import.table_folder",
                                   "Clip tables (*.csv *.txt);;All files (*)")
        if paths:
            self.ask_import_clip_table(paths[0])

    def ask_import_clip_table(self, path: str) -> None:
        answer = QMessageBox.question(
            self.window, "Import clip table",
            "Extract and align the new clips right after importing them?\n\n(Later is fine "
            "too: Faces ▸ Extract and align all unfinished clips.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
        if answer == QMessageBox.StandardButton.Cancel:
            return
        self.import_clip_table(path, answer == QMessageBox.StandardButton.Yes)

    def import_clip_table(self, path: str, process: bool) -> bool:
        store = self.store
        return self.window.jobs.start(f"Importing {Path(path).name}",
                                      lambda: pipeline.import_clips_job(store, path, process),
                                      JobTarget.new_clips())

    # -- files dropped on the window: videos, a clip table, a project folder -------------------

    def dropped(self, mime) -> tuple[str, list[str]]:
        """What a drag holds: ("videos", paths), ("table", [path]), ("project", [folder]), or
        ("", []) for anything else."""
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if not paths:
            return "", []
        if len(paths) == 1 and Path(paths[0], "project.sqlite").is_file():
            return "project", paths
        writable = self.store is not None and not self.store.read_only
        if writable and all(Path(p).suffix.lower() in VIDEO_SUFFIXES for p in paths):
            return "videos", paths
        if writable and len(paths) == 1 and Path(paths[0]).suffix.lower() == ".csv":
            return "table", paths
        return "", []

    def accepts_drop(self, mime) -> bool:
        return bool(self.dropped(mime)[0]) and not self.window.runner.busy

    def drop(self, mime) -> bool:
        kind, paths = self.dropped(mime)
        if not kind:
            return False
        # after the drop returns: the dialogs must not run inside the drag's event
        QTimer.singleShot(0, lambda: self._open_dropped(kind, paths))
        return True

    @guarded
    def _open_dropped(self, kind: str, paths: list[str]) -> None:
        if kind == "project":
            self.open_path(paths[0])
        elif kind == "videos":
            self.ask_import_videos(paths)
        elif kind == "table":
            self.ask_import_clip_table(paths[0])
