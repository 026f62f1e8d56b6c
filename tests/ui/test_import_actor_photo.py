"""The actor's reference photo in the Import videos dialog (issue 15): chosen with a button in a
file dialog that opens where the last photos were, refused in the dialog without the actor's name
or when the file is not a readable image (the message names it), and given to the import job,
which stores it as the actor's reference and so picks the actor in a clip whose first shot shows
someone else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from clipmaker import Shot, make_clip
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog

from feasstm_gui.core.store import Store
from feasstm_gui.core.store import identity as idstore
from feasstm_gui.ui.actor_photo import PHOTO_FOLDER_KEY
from feasstm_gui.ui.dialogs import ImportVideosDialog

#: someone else first (biden), then the actor in another photograph than the reference (obama2)
SHOTS = [Shot("b", "biden", 4, (160, 2.0, 330, 220), (155, -1.0, 310, 228)),
         Shot("a2", "obama2", 5, (165, 0.0, 320, 230), (150, 3.0, 350, 220))]


def _who(box, faces) -> str | None:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for f in faces:
        if np.hypot(cx - f["center"][0], cy - f["center"][1]) < 0.4 * f["side"]:
            return f["person"]
    return "?"


def _fake_chooser(monkeypatch, answers: dict[str, list[str]], asked: list[tuple[str, str]]):
    """QFileDialog.getOpenFileNames answering by what is asked for (videos or a photo),
    recording (title, folder it opens in)."""
    def ask(_parent, title, folder, _filters):
        asked.append((title, folder))
        return (answers["photo" if "photo" in title else "videos"], "")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", ask)


def _in_dialog(qtbot, steps, seen: dict) -> None:
    """Run `steps(dialog)` on the modal Import videos dialog; never leave it open."""
    dlg = QApplication.activeModalWidget()
    try:
        assert isinstance(dlg, ImportVideosDialog)
        steps(dlg)
    except BaseException as exc:  # noqa: BLE001 - reported by the test below
        seen["error"] = exc
    finally:
        seen["open_after"] = dlg is not None and dlg.isVisible()
        if dlg is not None and dlg.isVisible():
            dlg.reject()


def test_import_with_the_actors_photo_picks_the_actor(window, cjk_dir, qtbot, monkeypatch,
                                                      face_images):
    video, truth = make_clip(cjk_dir / "视频" / "先 别人.avi", SHOTS)
    photo = face_images["obama"]  # another photograph of the actor than the clip's
    store = Store.create(cjk_dir / "项目 照片", annotator="tester")
    window.set_store(store)
    asked: list[tuple[str, str]] = []
    _fake_chooser(monkeypatch, {"videos": [str(video)], "photo": [str(photo)]}, asked)
    seen: dict = {}

    def steps(dlg):
        qtbot.mouseClick(dlg.photo.choose, Qt.MouseButton.LeftButton)
        assert dlg.photo.shown.text() == photo.name
        # a photo without the actor's name: said in the dialog, which stays open
        qtbot.keyClick(dlg.edits["group"], Qt.Key.Key_Return)
        seen["no_name"] = (dlg.isVisible(), dlg.error.isVisible(), dlg.error.text())
        dlg.edits["actor"].setFocus()
        qtbot.keyClicks(dlg.edits["actor"], "Actor A")
        qtbot.keyClick(dlg.edits["actor"], Qt.Key.Key_Return)

    QTimer.singleShot(50, lambda: _in_dialog(qtbot, steps, seen))
    with qtbot.waitSignal(window.runner.finished, timeout=180_000) as blocker:
        window.project.import_videos_dialog()
    assert "error" not in seen, seen["error"]
    outcome = blocker.args[0]
    assert outcome.error is None, outcome.error_text
    visible, error_shown, text = seen["no_name"]
    assert visible and error_shown and "actor's name" in text
    # the photo is the actor's reference, and its folder is remembered
    refs = idstore.actor_refs(store, "Actor A")
    assert [(r.source, r.photo) for r in refs] == [("photo", str(photo.resolve()))]
    assert window.settings.get(PHOTO_FOLDER_KEY) == str(photo.parent)
    assert "actor_photos" not in (window.settings.get("import.metadata") or {})
    # the clip starts with someone else: those frames are irrelevant, the actor's are kept
    clip = store.clip("先 别人")
    assert clip.actor == "Actor A" and clip.align_status == "done"
    faces = {f.frame_id: f for f in store.current_faces(clip.id)}
    kept = {r.frame_index: (None if r.irrelevant or r.id not in faces
                            else _who(faces[r.id].box, truth[r.frame_index]["faces"]))
            for r in store.frames(clip.id)}
    assert kept == {i: ("obama" if t["shot"] == "a2" else None) for i, t in enumerate(truth)}

    # next import: the chooser opens in the photo's folder; an unreadable photo is named in the
    # dialog, and cancelling imports nothing
    broken = cjk_dir / "坏 的 照片.jpg"
    broken.write_bytes(photo.read_bytes()[:2000])
    asked.clear()
    _fake_chooser(monkeypatch, {"videos": [str(video)], "photo": [str(broken)]}, asked)
    seen.clear()

    def broken_steps(dlg):
        assert dlg.photo.shown.text() == ""  # photos are chosen per import, not remembered
        assert dlg.edits["actor"].text() == "Actor A"
        qtbot.mouseClick(dlg.photo.choose, Qt.MouseButton.LeftButton)
        qtbot.keyClick(dlg.edits["actor"], Qt.Key.Key_Return)
        seen["broken"] = (dlg.isVisible(), dlg.error.text())
        qtbot.mouseClick(dlg.photo.clear, Qt.MouseButton.LeftButton)
        seen["cleared"] = dlg.photo.photos

    QTimer.singleShot(50, lambda: _in_dialog(qtbot, broken_steps, seen))
    window.project.import_videos_dialog()
    qtbot.waitUntil(lambda: "open_after" in seen, timeout=10_000)
    assert "error" not in seen, seen["error"]
    visible, text = seen["broken"]
    assert visible and str(broken) in text and "reference photo" in text
    assert seen["cleared"] == []
    assert [folder for title, folder in asked if "photo" in title] == [str(photo.parent)]
    assert [c.id for c in store.clips()] == ["先 别人"]
    assert len(idstore.actor_refs(store, "Actor A")) == 1


def test_the_dialog_gives_the_chosen_photos_with_the_metadata(qtbot, face_images):
    chosen = [str(face_images["obama"]), str(face_images["obama2"])]
    dlg = ImportVideosDialog(None, ["/videos/a.avi"], {"actor": "甲"},
                             choose_files=lambda *a, **k: chosen)
    qtbot.addWidget(dlg)
    qtbot.mouseClick(dlg.photo.choose, Qt.MouseButton.LeftButton)
    assert dlg.photo.shown.text() == "obama.jpg; obama2.jpg"
    assert dlg.metadata()["actor_photos"] == chosen
    assert Path(chosen[0]).is_file()
