"""The researcher's first steps in the window: import video files (with their metadata) or a clip
table, then extract and align every unfinished clip, cancel, and go on."""

from __future__ import annotations

from clipmaker import Shot, make_clip
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QInputMethodEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from feasstm_gui.core.ingest.pipeline import process_clip, unfinished_clips
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Clip, Store
from feasstm_gui.ui.clips import StatusRole
from feasstm_gui.ui.dialogs import ImportVideosDialog


def status_of(window, clip_id):
    """What the clip list shows is left to do on a clip (None: nothing)."""
    model = window.clip_model
    return model.data(model.index(model.row_of(clip_id)), StatusRole)


def videos(folder, names, frames=8):
    shot = [Shot("a", "obama", frames, (150, 0.0, 300, 215), (160, 2.0, 320, 225))]
    return [make_clip(folder / f"{name}.avi", shot)[0] for name in names]


def type_text(qtbot, widget, text: str) -> None:
    """Type as a user does: Latin keys as key presses, Chinese as an input method commits it
    (QTest cannot press keys for characters outside Latin-1)."""
    for ch in text:
        if ord(ch) < 128:
            qtbot.keyClicks(widget, ch)
        else:
            event = QInputMethodEvent()
            event.setCommitString(ch)
            QApplication.sendEvent(widget, event)


def fill_import_dialog(qtbot, fields: dict[str, str], process: bool, seen: dict) -> None:
    """Type into the modal Import videos dialog as a user does, then press Enter."""
    dlg = QApplication.activeModalWidget()
    try:
        assert isinstance(dlg, ImportVideosDialog)
        seen.update({k: e.text() for k, e in dlg.edits.items()}, process=dlg.process.isChecked())
        for key, text in fields.items():
            edit = dlg.edits[key]
            edit.setFocus()
            edit.selectAll()
            qtbot.keyClick(edit, Qt.Key.Key_Delete)
            type_text(qtbot, edit, text)
        if dlg.process.isChecked() != process:
            qtbot.mouseClick(dlg.process, Qt.MouseButton.LeftButton)
        qtbot.keyClick(dlg.edits["group"], Qt.Key.Key_Return)
    finally:
        if dlg is not None and dlg.isVisible():
            dlg.reject()  # never leave a test waiting on a modal dialog


def test_import_videos_with_metadata_then_extract_and_align(window, cjk_dir, qtbot, monkeypatch):
    files = videos(cjk_dir / "原始 视频", ["演员 甲 镜头一", "演员 甲 镜头二"])
    store = Store.create(cjk_dir / "项目 导入", annotator="tester")
    window.set_store(store)
    # an empty project says what to do first, with the keys
    assert "Import videos" in window.strip.empty_text
    assert "Ctrl+Shift+I" in window.strip.empty_text
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *a, **k: ([str(f) for f in files], ""))
    seen: dict = {}
    fields = {"work": "演员请就位", "actor": "周迅", "role": "主角", "group": "B"}
    progress: list[str] = []
    window.runner.progressed.connect(lambda p: progress.append(p.message))
    QTimer.singleShot(50, lambda: fill_import_dialog(qtbot, fields, True, seen))
    with qtbot.waitSignal(window.runner.finished, timeout=120_000) as blocker:
        window.setFocus()
        qtbot.keyClick(window, Qt.Key.Key_I,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    outcome = blocker.args[0]
    assert outcome.error is None, outcome.error_text
    assert seen["process"] is True and seen["work"] == ""  # first time: empty, process on
    ids = ["演员 甲 镜头一", "演员 甲 镜头二"]
    assert [c.id for c in window.clip_model.clips()] == ids
    for clip_id, path in zip(ids, files):
        clip = store.clip(clip_id)
        assert (clip.work, clip.actor, clip.role, clip.group) == ("演员请就位", "周迅", "主角", "B")
        assert clip.video == str(path.resolve())
        assert (clip.extract_status, clip.align_status) == ("done", "done")
        frames = store.frames(clip_id)
        assert [f.frame_index for f in frames] == list(range(8))
        assert sum(1 for f in frames if f.crop and (store.folder / f.crop).is_file()) >= 6
    assert any(m.startswith("clip 2 of 2 · ") for m in progress)
    assert window.strip_model.rowCount() == 8  # the first clip is shown, with its crops
    assert "Importing 2 video(s): done" in window.statusBar().currentMessage()

    # the next import remembers the metadata (and the choice to process)
    more = videos(cjk_dir / "原始 视频", ["演员 甲 镜头三"], frames=4)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(more[0])], ""))
    seen.clear()
    QTimer.singleShot(50, lambda: fill_import_dialog(qtbot, {"role": "配角"}, False, seen))
    with qtbot.waitSignal(window.runner.finished, timeout=60_000):
        window.project.import_videos_dialog()
    assert seen == {**fields, "process": True}
    clip = store.clip("演员 甲 镜头三")
    assert (clip.work, clip.role, clip.group) == ("演员请就位", "配角", "B")
    assert store.frames("演员 甲 镜头三") == []  # not processed this time
    assert unfinished_clips(store) == ["演员 甲 镜头三"]


def test_a_video_that_is_already_a_clip_is_reported_and_the_rest_imported(window, cjk_dir,
                                                                           qtbot, monkeypatch):
    files = videos(cjk_dir / "视频", ["重复 的", "新 的"], frames=4)
    store = Store.create(cjk_dir / "项目 重复", annotator="tester")
    store.add_clip(Clip("重复 的", video=str(files[0])))
    window.set_store(store)
    shown: list[str] = []
    monkeypatch.setattr("feasstm_gui.ui.job_control.show_message",
                        lambda parent, title, text, details="": shown.append(details))
    with qtbot.waitSignal(window.runner.finished, timeout=60_000) as blocker:
        assert window.project.import_videos([str(f) for f in files], {"group": "A"}, process=True)
    assert blocker.args[0].error is None
    assert shown and "重复 的" in shown[0] and "already in the project" in shown[0]
    assert store.clip("新 的").align_status == "done"
    assert store.frames("重复 的") == []  # the clip that was there is left as it was


def test_import_a_clip_table_then_process_all_with_cancel_and_resume(window, cjk_dir, qtbot,
                                                                      monkeypatch):
    files = videos(cjk_dir / "视频 文件", ["长 视频", "短 视频"], frames=24)
    table = cjk_dir / "片段 表.csv"
    table.write_text("clip,video,work,actor,role,group,start_s,end_s\n"
                     f"前半 段,{files[0]},作品 一,演员 甲,角色 一,A,0,0.48\n"
                     f"整 段,{files[1]},作品 二,演员 乙,角色 二,B,,\n", encoding="utf-8")
    store = Store.create(cjk_dir / "项目 表", annotator="tester")
    store.add_clip(Clip("做完 的", video=str(files[1])))
    assert drive(process_clip(store, "做完 的")).exit_status == 0
    window.set_store(store)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(table), ""))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.No)  # import only
    with qtbot.waitSignal(window.runner.finished, timeout=60_000) as blocker:
        window.project.import_clips_dialog()
    assert blocker.args[0].error is None, blocker.args[0].error_text
    assert {c.id for c in window.clip_model.clips()} == {"做完 的", "前半 段", "整 段"}
    first = store.clip("前半 段")
    assert (first.work, first.actor, first.group, first.end_s) == ("作品 一", "演员 甲", "A", 0.48)
    assert unfinished_clips(store) == ["前半 段", "整 段"]
    assert status_of(window, "前半 段") == ("to extract", False)
    assert status_of(window, "做完 的") is None
    window.set_clip("前半 段")
    assert window.strip_model.rowCount() == 0
    assert "Extract and align this clip (Ctrl+P)" in window.strip.empty_text

    # Faces > Extract and align all unfinished clips, cancelled after the first progress
    window.setFocus()
    with qtbot.waitSignal(window.runner.finished, timeout=120_000) as blocker:
        qtbot.keyClick(window, Qt.Key.Key_P,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        qtbot.waitSignal(window.runner.progressed, timeout=60_000).wait()
        window.job_panel.cancel_button.click()
    assert blocker.args[0].cancelled
    assert "cancelled" in window.statusBar().currentMessage()
    assert "整 段" in unfinished_clips(store)
    assert status_of(window, "整 段") in (("to extract", False), ("partly extracted", False))
    done_before = {c: len(store.frames(c)) for c in ("前半 段", "整 段")}
    assert sum(done_before.values()) < 12 + 24

    # run again: it goes on where it stopped, and leaves the finished clip alone
    finished_frames = [(f.frame_index, f.crop) for f in store.frames("做完 的")]
    with qtbot.waitSignal(window.runner.finished, timeout=120_000) as blocker:
        window.jobs.process_all()
    assert blocker.args[0].error is None, blocker.args[0].error_text
    assert unfinished_clips(store) == []
    assert all(status_of(window, c.id) is None for c in window.clip_model.clips())
    assert [f.frame_index for f in store.frames("前半 段")] == list(range(12))
    assert [f.frame_index for f in store.frames("整 段")] == list(range(24))
    assert [(f.frame_index, f.crop) for f in store.frames("做完 的")] == finished_frames
    window.jobs.process_all()  # nothing left: says so, starts nothing
    assert not window.runner.busy
    assert "already extracted and aligned" in window.statusBar().currentMessage()


def test_extract_and_align_this_clip_in_one_pass(window, cjk_dir, qtbot):
    files = videos(cjk_dir / "视频", ["一 遍"], frames=6)
    store = Store.create(cjk_dir / "项目 一遍", annotator="tester")
    store.add_clip(Clip("一 遍", video=str(files[0])))
    window.set_store(store)
    window.strip.setFocus()
    with qtbot.waitSignal(window.runner.finished, timeout=60_000) as blocker:
        qtbot.keyClick(window.strip, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args[0].error is None, blocker.args[0].error_text
    rows = window.strip_model.frames()
    assert [r.frame_index for r in rows] == list(range(6))
    assert sum(r.crop is not None for r in rows) >= 5
    assert store.clip("一 遍").align_status == "done"


def drop(window, paths) -> bool:
    """Drag files over the window and drop them, as a file manager does; True if accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(400, 300), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(400, 300), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    return event.isAccepted()


def test_dropping_videos_imports_them_and_a_project_folder_opens(window, cjk_dir, qtbot):
    files = videos(cjk_dir / "拖放 视频", ["拖 一", "拖 二"], frames=4)
    notes = cjk_dir / "说明.txt"
    notes.write_text("不是 视频", encoding="utf-8")
    assert not drop(window, files)  # no project open: nowhere to import them
    store = Store.create(cjk_dir / "项目 拖放", annotator="tester")
    window.set_store(store)
    assert "drop video files here" in window.strip.empty_text
    assert not drop(window, [files[0], notes])  # not all videos: refused
    seen: dict = {}
    with qtbot.waitSignal(window.runner.finished, timeout=60_000) as blocker:
        QTimer.singleShot(100, lambda: fill_import_dialog(qtbot, {"actor": "Actor"}, True, seen))
        assert drop(window, files)
    assert blocker.args[0].error is None, blocker.args[0].error_text
    assert [c.id for c in window.clip_model.clips()] == ["拖 一", "拖 二"]
    assert store.clip("拖 二").actor == "Actor" and store.clip("拖 二").align_status == "done"
    other = Store.create(cjk_dir / "另一个 项目", annotator="tester")
    other.close()
    assert drop(window, [cjk_dir / "另一个 项目"])
    qtbot.waitUntil(lambda: window.store is not None
                    and window.store.folder == cjk_dir / "另一个 项目", timeout=5000)


def test_the_clip_list_says_what_is_left_to_do():
    from feasstm_gui.ui.clips import clip_status

    assert clip_status(Clip("a", video="v.mp4"), 0) == ("to extract", False)
    assert clip_status(Clip("a", video="v.mp4", extract_status="partial"), 40) == \
        ("partly extracted", False)
    assert clip_status(Clip("a", video="v.mp4", extract_status="done"), 40) == ("to align", False)
    assert clip_status(Clip("a", video="v.mp4", extract_status="done", align_status="partial"),
                       40) == ("partly aligned", False)
    assert clip_status(Clip("a", video="v.mp4", extract_status="damaged", align_status="done"),
                       40) == ("damaged video", True)
    assert clip_status(Clip("a", video="v.mp4", extract_status="done", align_status="done"),
                       40) is None
    assert clip_status(Clip("a", source="faf", extract_status="done", align_status="done"),
                       9) is None
