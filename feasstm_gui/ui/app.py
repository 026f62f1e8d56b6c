"""`feasstm-studio [PROJECT] [--read-only]`: start the labelling workstation.

Heavy modules (torch, the face detector) are not imported here: alignment imports them when a
job needs them, so the window opens quickly.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

from feasstm_gui import __version__

_START = time.time()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feasstm-studio",
        description="FEASSTM Studio: label facial expressions frame by frame, flag frames to "
        "delete, and build the FEASSTM dataset.")
    parser.add_argument("project", nargs="?", help="a project folder to open")
    parser.add_argument("--read-only", action="store_true",
                        help="open the project without changing anything (another instance may "
                        "be writing it)")
    parser.add_argument("--version", action="version", version=f"feasstm-studio {__version__}")
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--smoke-test", action="store_true",
                        help="check an installation: open PROJECT (or build the sample project "
                        "in a temporary folder with the real pipeline), show its frames, print "
                        "'ok' and exit 0")
    return parser


def resolve_annotator(settings, ask=None) -> str:
    """$FEASSTM_ANNOTATOR wins; else the remembered name; else ask once and remember it."""
    env = os.environ.get("FEASSTM_ANNOTATOR")
    if env:
        return env
    name = settings.get("annotator")
    if name:
        return str(name)
    if ask is not None:
        name = ask()
        if name:
            settings.set("annotator", name)
            return name
    from feasstm_gui.core.store import default_annotator

    return default_annotator()


def _set_icon(app) -> None:
    from PySide6.QtGui import QIcon

    from feasstm_gui.sample import resources_dir

    icon = resources_dir() / "icons" / "feasstm-studio.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    app.setDesktopFileName("feasstm-studio")


def _install_excepthook(window) -> None:
    """An error in a slot becomes a dialog, never a silent failure or a crash."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        try:
            window.report_error(value)
        except Exception:  # noqa: BLE001
            previous(kind, value, tb)

    sys.excepthook = hook


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from feasstm_gui.core.settings import Settings
    from feasstm_gui.ui.dialogs import ask_annotator
    from feasstm_gui.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "feasstm-studio"])
    app.setApplicationName("FEASSTM Studio")
    app.setOrganizationName("FEASSTM")
    app.setApplicationVersion(__version__)
    _set_icon(app)
    settings = Settings.load()
    quiet = args.exit_when_shown or args.smoke_test
    annotator = resolve_annotator(settings, ask=None if quiet else (lambda: ask_annotator(None)))
    window = MainWindow(settings, annotator)
    _install_excepthook(window)
    window.show()
    if args.smoke_test:
        return smoke_test(app, window, args.project)
    if args.project:
        window.open_path(args.project, read_only=args.read_only)
    if args.exit_when_shown:
        app.processEvents()
        print(f"shown {time.time():.6f} start {_START:.6f}", flush=True)
        window.close()
        return 0
    if not args.project:
        QTimer.singleShot(0, window.show_welcome)
    return app.exec()


def smoke_test(app, window, project: str | None) -> int:
    """Open a project (by default the sample, built now in a temporary folder: torch, the
    MTCNN weights and the resources must all be there), wait for its frames to show, print
    'ok'. Exit 1 with the reason otherwise."""
    import tempfile
    from pathlib import Path

    temp = None
    try:
        if project is None:
            from feasstm_gui.core.jobs import drive
            from feasstm_gui.sample import create_sample_project, sample_job

            temp = tempfile.TemporaryDirectory(prefix="feasstm smoke ")
            project = str(Path(temp.name) / "sample project")
            store = create_sample_project(project, annotator=window.annotator)
            with store:
                result = drive(sample_job(store))
            print(result.summary, flush=True)
        if not window.open_path(project):
            print("smoke test: the project did not open", file=sys.stderr)
            return 1
        end = time.monotonic() + 10
        while time.monotonic() < end and not window.strip_model.frames():
            app.processEvents()
            time.sleep(0.02)
        for _ in range(10):
            app.processEvents()
        frames = len(window.strip_model.frames())
        if not frames:
            print("smoke test: no frames shown", file=sys.stderr)
            return 1
        from feasstm_gui.ui.player_panel import smoke_play

        played = smoke_play(window, app)
        if not played.startswith("played"):
            print(f"smoke test: {played}", file=sys.stderr)
            return 1
        print(f"ok ({window.clip_model.rowCount()} clips, {frames} frames in the first; "
              f"{played})", flush=True)
        return 0
    finally:
        window.close()
        if temp is not None:
            temp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
