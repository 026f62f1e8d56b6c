"""Extraction and alignment of a clip run from the window on the worker; a FAF folder imported
from the window; the PySide6 reference-count workaround."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time

from clipmaker import Shot, make_clip
from PySide6.QtCore import Qt, QTimer

from feasstm_gui.core.store import Clip, Store, views

CLIP = "片段 视频"


def test_extract_and_align_a_clip_from_the_window(window, cjk_dir, qtbot):
    video, _truth = make_clip(cjk_dir / "视频 一.avi",
                              [Shot("a", "obama", 8, (150, 0.0, 300, 215),
                                    (160, 2.0, 320, 225))])
    store = Store.create(cjk_dir / "项目 视频", annotator="tester")
    store.add_clip(Clip(id=CLIP, video=str(video), work="作品", actor="演员", group="A"))
    window.set_store(store)
    assert window.strip_model.rowCount() == 0
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    window.strip.setFocus()
    with qtbot.waitSignal(window.runner.finished, timeout=60_000) as blocker:
        qtbot.keyClick(window.strip, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args[0].error is None, blocker.args[0].error_text
    assert window.strip_model.rowCount() == 8
    assert window.clip_model.summary(CLIP).total == 8
    with qtbot.waitSignal(window.runner.finished, timeout=120_000) as blocker:
        qtbot.keyClick(window.strip, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        # the window stays responsive while the job runs
        qtbot.waitUntil(lambda: len(ticks) > 20, timeout=60_000)
    timer.stop()
    assert blocker.args[0].error is None, blocker.args[0].error_text
    rows = window.strip_model.frames()
    assert sum(r.crop is not None for r in rows) >= 6, blocker.args[0].result
    assert [r.crop for r in rows] == [r.crop for r in views.clip_frames(store, CLIP)]
    assert window.clip_model.summary(CLIP).faces >= 6


def test_import_a_faf_folder_from_the_window(window, cjk_dir, data_dir, qtbot):
    faf = cjk_dir / "FAF 文件夹"
    clip = faf / "片段 甲"
    clip.mkdir(parents=True)
    for i, name in enumerate(("obama.jpg", "obama2.jpg", "biden.jpg")):
        shutil.copyfile(data_dir / "faces" / name, clip / f"{i + 1:06d}.jpg")
    (faf / "片段 甲.txt").write_text("000001.jpg 4\n000002.jpg 7\n000003.jpg 0\n",
                                     encoding="utf-8")
    with qtbot.waitSignal(window.runner.finished, timeout=60_000) as blocker:
        assert window.project.import_faf(str(faf), str(cjk_dir / "项目 FAF"))
    assert blocker.args[0].error is None, blocker.args[0].error_text
    assert window.clip_id == "片段 甲"
    assert [f.code for f in window.strip_model.frames()] == [4, 7, None]


def test_many_signals_and_void_calls_do_not_abort_the_interpreter(tmp_path):
    """PySide6 6.12 on CPython 3.11 returns None and True without a reference; importing
    feasstm_gui.ui makes up for it (see feasstm_gui/ui/__init__.py)."""
    script = textwrap.dedent("""
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        import feasstm_gui.ui
        from PySide6.QtCore import QCoreApplication, QObject, QRect, Signal
        from PySide6.QtGui import QColor, QPainter, QPixmap
        app = QCoreApplication([])
        class O(QObject):
            s = Signal()
        o = O()
        for _ in range(20000):
            o.s.emit()
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_tools_menu_opens_the_tools(window, make_project, qtbot):
    from conftest import FrameSpec

    built = make_project({"片段 一": [FrameSpec(code=4)]})
    window.set_store(built.store)
    tools = [a for a in window.menus["Tools"].actions() if not a.isSeparator()]
    assert [a.objectName() for a in tools] == ["tools.export", "tools.rating",
                                               "tools.adjudication", "tools.agreement",
                                               "tools.progress",
                                               "tools.identities"]
    assert all(a.isVisible() and a.isEnabled() for a in tools)
    for action in tools:
        action.trigger()
        name = action.objectName().split(".")[1]
        assert name in window.tools.opened
        opened = window.tools.opened[name]
        assert opened.isVisible()
        if window.runner.busy:  # the agreement statistics run on the window's one runner
            qtbot.waitSignal(window.runner.finished, timeout=120_000).wait()
        opened.close()
