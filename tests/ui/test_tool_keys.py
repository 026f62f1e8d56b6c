"""The tools' keys are actions of the one registry: listed in the F1 overlay, remapped in the
keymap, and the remapped key drives the tool opened from the window's Tools menu."""

from __future__ import annotations

from conftest import FrameSpec
from PySide6.QtCore import Qt

from feasstm_gui.core.settings import Settings
from feasstm_gui.core.store import views
from feasstm_gui.ui import actions as act
from feasstm_gui.ui.dialogs import KeymapEditor

CLIP = "片段 一"


def test_a_remapped_adjudication_key_drives_the_dialog(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(code=4), FrameSpec(code=4), FrameSpec(code=4)]})
    ids = built.ids[CLIP]
    built.store.set_labels(ids[:2], 6, annotator="第二 标注者")  # two disagreements
    window.set_store(built.store)
    mapping = window.keymap.mapping()
    mapping["adjudication.3"] = ["Q"]
    window.keymap.save(mapping)
    window.apply_keymap()
    assert Settings.load().get("keymap") == {"adjudication.3": ["Q"]}

    window.actions["tools.adjudication"].trigger()
    dialog = window.tools.opened["adjudication"]
    assert dialog.isVisible() and len(dialog.rows) == 2
    qtbot.keyClick(dialog.table, Qt.Key.Key_3)  # no longer bound: nothing happens
    assert [r.code for r in views.clip_frames(built.store, CLIP)] == [None, None, 4]
    qtbot.keyClick(dialog.table, Qt.Key.Key_Q)
    assert [r.code for r in views.clip_frames(built.store, CLIP)] == [3, None, 4]
    qtbot.keyClick(dialog.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # default
    assert [r.code for r in views.clip_frames(built.store, CLIP)] == [None, None, 4]
    dialog.close()


def test_the_key_overlay_lists_the_tools_keys(window, qtbot):
    mapping = window.keymap.mapping()
    mapping["rating.pick"] = ["Ctrl+Shift+K"]
    window.keymap.save(mapping)
    window.apply_keymap()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    text = window.overlay.text()
    for section in act.TOOL_SCOPES.values():
        assert f"<b>{section}</b>" in text
    assert "Pick / unpick the frame" in text
    assert act.display_keys(["Ctrl+Shift+K"])[0] in text
    qtbot.keyClick(window.overlay, Qt.Key.Key_Escape)


def test_tool_keys_conflict_only_within_their_dialog(qtbot):
    keymap = act.Keymap(Settings.load())
    editor = KeymapEditor(keymap)
    qtbot.addWidget(editor)
    editor.set_keys("adjudication.next", ["Q", "J"])  # Q is no window key: fine
    editor.set_keys("rating.pick", ["4"])  # 4 labels in the window, scores in rating mode
    editor.accept()
    assert "4 is given to" in editor.problem.text()
    assert "Score 4" in editor.problem.text() and "Happy" not in editor.problem.text()
    assert Settings.load().get("keymap") in (None, {})
    editor.set_keys("rating.pick", ["7"])  # a label key of the window, no rating key
    editor.accept()
    assert Settings.load().get("keymap") == {"adjudication.next": ["Q", "J"],
                                             "rating.pick": ["7"]}


def test_the_export_dialog_runs_on_the_windows_one_runner(window, make_project, qtbot,
                                                           cjk_dir):
    import threading

    from feasstm_gui.core.jobs import JobResult, Progress

    built = make_project({CLIP: [FrameSpec(code=4), FrameSpec(code=7)]})
    window.set_store(built.store)
    release = threading.Event()

    def waiting():
        yield Progress(0, 1, "waiting")
        release.wait(20)
        return JobResult(done=1)

    assert window.start_job("Waiting", waiting)
    window.actions["tools.export"].trigger()
    dialog = window.tools.opened["export"]
    assert dialog.runner is window.runner
    dialog.out_edit.setText(str(cjk_dir / "导出"))
    assert not dialog.start_export()  # one job at a time, the window's included
    assert "Wait for 'Waiting'" in dialog.status_label.text()
    with qtbot.waitSignal(window.runner.finished, timeout=30_000):
        release.set()
    assert "Waiting: done" in window.statusBar().currentMessage()
    assert dialog.export_button.isEnabled()
    with qtbot.waitSignal(window.runner.finished, timeout=60_000) as blocker:
        assert dialog.start_export()
    assert blocker.args[0].error is None
    assert (cjk_dir / "导出").is_dir()
    assert "Exporting" not in window.statusBar().currentMessage()  # the dialog reports it
    dialog.close()
