"""Screenshots for the user guide, taken from real windows on the real sample project.

Builds the sample project (the same job as `feasstm sample`: real clips, real MTCNN) in a
temporary folder, or uses `--project` when given, then renders offscreen (no display needed;
under Xvfb or a desktop set QT_QPA_PLATFORM=xcb): the main window, the review grid, the export
dialog, rating mode, adjudication, the F1 key overlay and the welcome screen, into
docs/guide/img/.

    .venv/bin/python packaging/guide_screenshots.py [--project PROJECT] [--out docs/guide/img]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]


def settle(app, window=None, seconds: float = 1.5) -> None:
    """Let thumbnails and previews load off-thread and the layout settle."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
        if window is not None and window.thumbs.wait(0) and time.monotonic() > end - 0.5:
            break
    for _ in range(10):
        app.processEvents()


def save(widget, path: Path) -> None:
    if not widget.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(path)


def build_sample(folder: Path) -> None:
    from feasstm_gui.core.jobs import drive
    from feasstm_gui.sample import create_sample_project, sample_job

    store = create_sample_project(folder, annotator=os.environ["FEASSTM_ANNOTATOR"])
    with store:
        print(drive(sample_job(store)).summary)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "guide" / "img")
    ap.add_argument("--readme-shot", type=Path, default=ROOT / "docs" / "screenshot.png",
                    help="also save the main window here (the README's picture)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="feasstm guide "))
    os.environ["FEASSTM_CONFIG_DIR"] = str(tmp / "config")
    os.environ.setdefault("FEASSTM_ANNOTATOR", "示例 标注员一")
    try:
        project = args.project
        if project is None:
            project = tmp / "sample project"
            build_sample(project)
        return shoot(project, args.out, args.readme_shot)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def shoot(project: Path, out: Path, readme_shot: Path | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from feasstm_gui.core.settings import Settings
    from feasstm_gui.ui.main_window import MainWindow

    out.mkdir(parents=True, exist_ok=True)
    from feasstm_gui.ui.welcome import WelcomeDialog

    welcome = WelcomeDialog([str(project.resolve()), "/home/annotator/FEASSTM/主项目"])
    welcome.show()
    settle(app, None, 0.5)
    save(welcome, out / "welcome.png")
    welcome.close()
    window = MainWindow(Settings.load(), os.environ["FEASSTM_ANNOTATOR"])
    window.resize(1440, 880)
    window.show()
    if not window.open_path(project, read_only=False):
        return 1
    settle(app, window, 3)
    window.strip.go_to_row(3)
    window.strip.setFocus()
    window.history.refresh()
    settle(app, window, 3)
    save(window, out / "main-window.png")
    if readme_shot is not None:  # the README's picture is the same window
        shutil.copyfile(out / "main-window.png", readme_shot)

    window.show_review()
    window.review_bar.set_query(suggested="blur")
    settle(app, window, 3)
    save(window, out / "review-grid.png")
    window.show_strip()

    window.toggle_key_overlay()
    settle(app, window, 1)
    save(window, out / "keys-overlay.png")
    window.toggle_key_overlay()

    for name, module, func, size in (
            ("export-dialog.png", "feasstm_gui.ui.export_dialog", "open_export_dialog",
             (900, 680)),
            ("rating-mode.png", "feasstm_gui.ui.rating_mode", "open_rating_mode", (1280, 800)),
            ("adjudication.png", "feasstm_gui.ui.adjudication", "open_adjudication",
             (1100, 700))):
        window.open_tool(module, func)
        dialog = window._tools.get(module)
        if dialog is None:
            print(f"{module}: did not open", file=sys.stderr)
            return 1
        dialog.resize(*size)
        settle(app, None, 3)
        save(dialog, out / name)
        dialog.close()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
