"""Tools > Identities of this clip: the gallery driven with keys; the store says what changed.

The clip is made from real photographs (obama, a cut to biden, obama2 beside biden), processed
and grouped by the real pipeline."""

from __future__ import annotations

import clipmaker
from clipmaker import Shot
from PySide6.QtCore import Qt

from feasstm_gui.core.faces.identities import identities_clip
from feasstm_gui.core.ingest.importer import import_videos
from feasstm_gui.core.ingest.pipeline import process_clip
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store
from feasstm_gui.ui.identities import IdentityGallery

SHOTS = [Shot("a", "obama", 4, (150, -3.0, 300, 215), (160, 3.0, 320, 225)),
         Shot("b", "biden", 3, (160, 2.0, 330, 220), (155, -1.0, 310, 228)),
         Shot("two", "obama2", 3, (120, 0.0, 160, 210), (124, 2.0, 168, 214),
              right="biden", right_pose=(120, 0.0, 480, 215))]


def _who(store, clip, truth):
    faces = {f.frame_id: f for f in store.current_faces(clip)}
    out = []
    for row in store.frames(clip):
        face = faces.get(row.id)
        if row.irrelevant or face is None:
            out.append(None)
            continue
        cx = (face.box[0] + face.box[2]) / 2
        t = truth[row.frame_index]["faces"]
        out.append(min(t, key=lambda f: abs(f["center"][0] - cx))["person"])
    return out


def test_gallery_keys_switch_the_actor_and_undo(window, cjk_dir, qtbot):
    path, truth = clipmaker.make_clip(cjk_dir / "视频 一.avi", SHOTS)
    store = Store.create(cjk_dir / "项目", annotator="tester")
    drive(import_videos(store, [path], actor="演员"))
    clip = "视频 一"
    assert drive(process_clip(store, clip)).exit_status == 0
    drive(identities_clip(store, clip))
    start = _who(store, clip, truth)
    assert start == ["obama"] * 4 + [None] * 3 + ["obama"] * 3
    window.set_store(store)

    window.actions["tools.identities"].trigger()
    gallery = next(w for w in window.findChildren(IdentityGallery))
    # its sample faces are decoded off the GUI thread: the gallery is up before they arrive
    assert gallery.table.item(0, 2).icon().isNull()
    qtbot.waitExposed(gallery)
    assert gallery.table.rowCount() == 2
    assert gallery.identities[0].is_actor and gallery.identities[0].frames == 7
    assert "identity 0 is the actor" in gallery.summary.text()
    qtbot.waitUntil(lambda: not gallery.table.item(0, 2).icon().isNull())  # a face is shown

    gallery.table.setFocus()
    qtbot.keyClick(gallery.table, Qt.Key.Key_Down)
    qtbot.keyClick(gallery.table, Qt.Key.Key_A)  # identity 1 (biden) is the actor
    assert _who(store, clip, truth) == [None] * 4 + ["biden"] * 6
    assert gallery.identities[1].is_actor and not gallery.identities[0].is_actor

    qtbot.keyClick(gallery.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _who(store, clip, truth) == start

    qtbot.keyClick(gallery.table, Qt.Key.Key_Up)
    qtbot.keyClick(gallery.table, Qt.Key.Key_N)  # identity 0 (obama) is not the actor
    assert _who(store, clip, truth) == [None] * 10
    assert store.can_undo().description == f"identity 0 is not the actor in {clip}"
    gallery.close()
