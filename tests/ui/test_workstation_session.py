"""Jobs on the worker, projects held by another process, reopening in a new process, keymap,
the F1 overlay, the annotator's name and the entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

from conftest import FrameSpec
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from feasstm_gui.core.jobs import JobResult, Progress
from feasstm_gui.core.settings import Settings
from feasstm_gui.core.store import Store, views
from feasstm_gui.ui import actions as act
from feasstm_gui.ui import pipeline_adapter
from feasstm_gui.ui.job_control import JobTarget

CLIP = "片段 一"


def label_slowly(store: Store, frame_ids: list[int], code: int, delay: float):
    """A real job: commits one frame's label per unit of work, then yields."""
    for i, fid in enumerate(frame_ids):
        store.set_labels([fid], code, annotator="job")
        time.sleep(delay)
        yield Progress(i + 1, len(frame_ids), f"frame {fid}")
    return JobResult(done=len(frame_ids), summary="all labelled")


def test_worker_runs_a_job_off_the_gui_thread_and_cancels(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(40)]})
    window.set_store(built.store)
    ids = built.ids[CLIP]
    store = built.store
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    assert window.start_job("Label slowly", lambda: label_slowly(store, ids, 4, 0.03),
                            JobTarget.of_frames(CLIP, ids))
    assert window.job_panel.isVisible()
    # results appear as they come, and the window keeps processing events
    qtbot.waitUntil(lambda: sum(f.code == 4 for f in window.strip_model.frames()) >= 3,
                    timeout=5000)
    assert len(ticks) >= 5
    assert not window.start_job("second", lambda: label_slowly(store, ids, 5, 0))  # one at a time
    with qtbot.waitSignal(window.runner.finished, timeout=5000) as blocker:
        window.job_panel.cancel_button.click()
    timer.stop()
    outcome = blocker.args[0]
    assert outcome.cancelled and outcome.error is None
    done = sum(r.code == 4 for r in views.clip_frames(store, CLIP))
    assert 3 <= done < len(ids)
    assert outcome.result.done in (done, done - 1)
    assert not window.job_panel.isVisible()
    assert sum(f.code == 4 for f in window.strip_model.frames()) == done
    assert "cancelled" in window.statusBar().currentMessage()


def test_worker_reports_a_job_error_in_a_dialog(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec()]})
    window.set_store(built.store)

    def broken():
        yield Progress(0, 1, "start")
        raise RuntimeError("the detector fell over")

    with qtbot.waitSignal(window.runner.finished, timeout=5000) as blocker:
        window.start_job("Broken", broken)
    assert isinstance(blocker.args[0].error, RuntimeError)
    assert "the detector fell over" in window.property("last_message")


def test_worker_finishes_and_returns_the_result(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(5)]})
    window.set_store(built.store)
    store, ids = built.store, built.ids[CLIP]
    with qtbot.waitSignal(window.runner.finished, timeout=5000) as blocker:
        window.start_job("Quick", lambda: label_slowly(store, ids, 2, 0),
                         JobTarget.of_frames(CLIP, ids))
    assert blocker.args[0].result.summary == "all labelled"
    assert [f.code for f in window.strip_model.frames()] == [2] * 5


def test_realign_selected_runs_cancels_and_undoes(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(6)]})
    window.set_store(built.store)
    ids = built.ids[CLIP]
    crops = [f.crop for f in window.strip_model.frames()]
    with qtbot.waitSignal(window.runner.finished, timeout=120_000) as blocker:
        assert window.jobs.start_realign(ids, {"threshold": 0.5})
        qtbot.waitSignal(window.runner.progressed, timeout=120_000).wait()
        window.job_panel.cancel_button.click()  # cancel after the first frame(s)
    outcome = blocker.args[0]
    assert outcome.error is None, outcome.error_text
    assert outcome.cancelled
    versions = [built.store.face(f).version for f in ids]
    changed = [i for i, v in enumerate(versions) if v > 1]
    assert changed and len(changed) < len(ids)  # results kept, the rest not done
    # the strip shows the new crops of the frames done (results appear as they come)
    assert all(window.strip_model.frames()[i].crop != crops[i] for i in changed)
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert built.store.face(ids[changed[-1]]).version == 1
    assert window.strip_model.frames()[changed[-1]].crop == crops[changed[-1]]


def test_manual_fix_on_the_preview_realigns_with_the_drawn_landmarks(window, make_project,
                                                                    qtbot):
    built = make_project({CLIP: [FrameSpec(), FrameSpec()]})
    window.set_store(built.store)
    fid = built.ids[CLIP][0]
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_M)
    assert window.preview.fix_mode
    box, landmarks = window.preview.drawn()
    assert box and len(landmarks) == 5
    with qtbot.waitSignal(window.runner.finished, timeout=120_000) as blocker:
        window.preview.apply_button.click()
    assert blocker.args[0].error is None, blocker.args[0].error_text
    face = built.store.face(fid)
    assert face.version == 2
    assert window.strip_model.frames()[0].crop == face.crop


def test_this_face_is_the_actor_key_runs_the_tracker(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(3)]})
    window.set_store(built.store)
    window.strip.setFocus()
    with qtbot.waitSignal(window.runner.finished, timeout=120_000) as blocker:
        qtbot.keyClick(window.strip, Qt.Key.Key_T)
    outcome = blocker.args[0]
    assert outcome.error is None, outcome.error_text
    assert "actor followed" in outcome.result.summary
    assert "Following the actor" in outcome.title


def test_realign_key_opens_options_and_a_failing_job_says_why(window, make_project, qtbot,
                                                             monkeypatch):
    from feasstm_gui.core.errors import FeasstmError
    from feasstm_gui.ui.dialogs import RealignDialog

    built = make_project({CLIP: [FrameSpec() for _ in range(3)]})
    window.set_store(built.store)

    def broken(store, frame_ids, options):
        raise FeasstmError("the detector weights cannot be read")

    monkeypatch.setattr(pipeline_adapter, "realign_job", broken)
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_R)
    dialog = window.findChild(RealignDialog)
    assert dialog is not None and dialog.isVisible()
    with qtbot.waitSignal(window.runner.finished, timeout=5000) as blocker:
        dialog.accept()
    assert blocker.args[0].error is not None
    assert "weights cannot be read" in window.property("last_message")


def _hold_lock(folder) -> subprocess.Popen:
    script = textwrap.dedent("""
        import sys, time
        from feasstm_gui.core.store import Store
        s = Store.open(sys.argv[1], annotator="其他人")
        print("ready", flush=True)
        sys.stdin.readline()
        s.close()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, str(folder)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, encoding="utf-8")
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_project_locked_by_another_process_opens_read_only(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(code=4), FrameSpec()]})
    built.store.close()
    proc = _hold_lock(built.folder)
    try:
        asked = []
        window.ask_read_only = lambda exc: asked.append(str(exc)) or True
        assert window.open_path(built.folder)
        assert "其他人" in asked[0]
        assert window.store.read_only
        assert "read-only" in window.windowTitle()
        assert [f.code for f in window.strip_model.frames()] == [4, None]
        assert not window.actions["label.4"].isEnabled()
        window.strip.setFocus()
        qtbot.keyClick(window.strip, Qt.Key.Key_7)
        assert [r.code for r in views.clip_frames(window.store, CLIP)] == [4, None]
        # declining: the message says who holds it
        window.set_store(None)
        window.ask_read_only = lambda exc: False
        assert not window.open_path(built.folder)
        assert "open for writing by 其他人" in window.property("last_message")
    finally:
        proc.communicate("\n", timeout=20)


def test_close_and_reopen_in_a_new_process(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec() for _ in range(3)]})
    window.set_store(built.store)
    window.strip.setFocus()
    for key in (Qt.Key.Key_4, Qt.Key.Key_7):
        qtbot.keyClick(window.strip, key)
    qtbot.keyClick(window.strip, Qt.Key.Key_B)
    window.close()
    script = textwrap.dedent("""
        import json, sys
        from feasstm_gui.core.store import Store
        with Store.open(sys.argv[1], annotator="reader") as s:
            st = s.status()
            rows = s.frames(sys.argv[2])
            print(json.dumps({"labelled": st["labelled"], "deleted": st["deleted"],
                              "codes": [r.code for r in rows],
                              "reasons": [sorted(r.reasons) for r in rows]}))
    """)
    out = subprocess.run([sys.executable, "-c", script, str(built.folder), CLIP],
                         capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"labelled": 2, "deleted": 1, "codes": [4, 7, None],
                   "reasons": [[], [], ["blur"]]}


def test_keymap_change_persists_and_drives_the_keys(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(), FrameSpec()]})
    window.set_store(built.store)
    mapping = window.keymap.mapping()
    mapping["label.4"] = ["H"]
    window.keymap.save(mapping)
    window.apply_keymap()
    window.strip.setFocus()
    qtbot.keyClick(window.strip, Qt.Key.Key_H)
    assert views.clip_frames(built.store, CLIP)[0].code == 4
    qtbot.keyClick(window.strip, Qt.Key.Key_4)  # no longer bound
    assert views.clip_frames(built.store, CLIP)[1].code is None
    assert Settings.load().get("keymap") == {"label.4": ["H"]}
    assert act.Keymap(Settings.load()).keys("label.4") == ["H"]
    assert "H" in window.actions["label.4"].toolTip()


def test_keymap_editor_refuses_a_key_given_twice(qtbot):
    from feasstm_gui.ui.dialogs import KeymapEditor

    keymap = act.Keymap(Settings.load())
    editor = KeymapEditor(keymap)
    qtbot.addWidget(editor)
    editor.set_keys("flag.blur", ["4"])
    editor.accept()
    assert "4 is given to" in editor.problem.text()
    assert Settings.load().get("keymap") in (None, {})
    editor.set_keys("flag.blur", ["Shift+B"])
    editor.accept()
    assert Settings.load().get("keymap") == {"flag.blur": ["Shift+B"]}


def test_defaults_have_no_conflicts_and_every_action_is_in_a_menu(window):
    assert act.conflicts(act.DEFAULT_KEYMAP) == {}
    in_menus = {a.objectName() for m in window.menus.values() for a in m.actions()}
    # the tools' keys are in their dialogs (and in the key overlay and the keymap editor)
    assert {s.id for s in act.WINDOW_ACTIONS} <= in_menus
    toolbar = {a.objectName() for a in window.toolbar.actions()}
    assert {f"label.{c}" for c in range(1, 8)} <= toolbar


def test_f1_overlay_lists_every_key(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert window.overlay.isVisible()
    text = window.overlay.text()
    for spec in act.ACTIONS:
        for key in act.display_keys(window.keymap.keys(spec.id)):
            assert key in text, (spec.id, key)
    qtbot.keyClick(window.overlay, Qt.Key.Key_Escape)
    assert not window.overlay.isVisible()


def test_annotator_asked_once_and_remembered(monkeypatch):
    from feasstm_gui.ui.app import resolve_annotator

    monkeypatch.delenv("FEASSTM_ANNOTATOR")
    settings = Settings.load()
    asked = []
    assert resolve_annotator(settings, ask=lambda: asked.append(1) or "王 小明") == "王 小明"
    assert resolve_annotator(Settings.load(), ask=lambda: asked.append(1) or "x") == "王 小明"
    assert asked == [1]
    monkeypatch.setenv("FEASSTM_ANNOTATOR", "env wins")
    assert resolve_annotator(Settings.load(), ask=None) == "env wins"


def test_entry_point_shows_the_window_without_torch(make_project):
    built = make_project({CLIP: [FrameSpec(code=1)]})
    built.store.close()
    script = textwrap.dedent("""
        import sys
        from feasstm_gui.ui.app import main
        rc = main([sys.argv[1], "--read-only", "--exit-when-shown"])
        print("rc", rc, "torch", "torch" in sys.modules, "cv2", "cv2" in sys.modules)
    """)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", script, str(built.folder)], capture_output=True,
                         text=True, encoding="utf-8", timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "rc 0 torch False" in out.stdout
    assert "shown" in out.stdout


def test_welcome_dialog_lists_recent_projects(qtbot, make_project):
    from feasstm_gui.ui.welcome import WelcomeDialog

    built = make_project({CLIP: [FrameSpec()]})
    dlg = WelcomeDialog([str(built.folder), "/no/such/project"])
    qtbot.addWidget(dlg)
    assert dlg.recent.count() == 2
    assert not (dlg.recent.item(1).flags() & Qt.ItemFlag.ItemIsEnabled)
    dlg._recent(dlg.recent.item(0))
    assert dlg.choice == "recent" and dlg.path == str(built.folder)
    QApplication.processEvents()
