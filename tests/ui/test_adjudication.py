"""Adjudication view: disagreements listed, resolved with keys 1-7, arrows move, undo."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import Qt

from feasstm_gui.core.ingest.images import read_image, write_jpeg
from feasstm_gui.core.store import Clip, Store
from feasstm_gui.ui.adjudication import AdjudicationDialog, open_adjudication

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"
CLIP = "片段 甲"


def make_project(folder: Path, n_frames: int = 6) -> Store:
    """One clip with `n_frames` frames, each with a real 100x100 face crop."""
    store = Store.create(folder, annotator="tester")
    photos = [read_image(p) for p in sorted(FACES.iterdir()) if p.suffix in (".jpg", ".png")]
    store.add_clip(Clip(CLIP, actor="演员", group="A"))
    (store.folder / "crops" / CLIP).mkdir(parents=True)
    for k, fid in enumerate(store.add_frames(CLIP, [(i, i * 40.0, None, None)
                                                    for i in range(n_frames)])):
        crop = f"crops/{CLIP}/{k + 1:06d}.jpg"
        write_jpeg(store.folder / crop, cv2.resize(photos[k % len(photos)], (100, 100)))
        store.add_face(fid, crop=crop)
    return store


@pytest.fixture
def store(cjk_dir):
    s = make_project(cjk_dir / "项目")
    f = [x.id for x in s.frames(CLIP)]
    s.set_labels(f, 4, annotator="甲")
    s.set_labels(f[:1], 4, annotator="乙")
    s.set_labels(f[1:4], 6, annotator="乙")  # frames 1, 2, 3 disagree
    s.set_labels(f[4:], 4, annotator="乙")
    s.set_labels([f[3]], 5, annotator="丙")
    yield s
    s.close()


@pytest.fixture
def dialog(qtbot, store):
    dlg = AdjudicationDialog(store)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def final(store, index):
    return store.frames(CLIP)[index].code


def test_lists_the_disagreements_with_every_annotators_label(dialog):
    assert [d.frame_index for d in dialog.rows] == [1, 2, 3]
    headers = [dialog.table.horizontalHeaderItem(c).text()
               for c in range(dialog.table.columnCount())]
    assert headers == ["face", "clip", "frame", "丙", "乙", "甲", "final"]
    assert dialog.table.item(2, 3).text() == "5 Sadness"
    assert dialog.table.item(0, 4).text() == "6 Anger"
    assert not dialog.table.item(0, 0).icon().isNull()
    assert dialog.summary.text() == "3 disagreement(s) to resolve"


def test_keys_resolve_and_move_on(qtbot, dialog, store):
    qtbot.keyClick(dialog.table, Qt.Key.Key_6)
    assert final(store, 1) == 6
    assert [d.frame_index for d in dialog.rows] == [2, 3]
    assert dialog.current().frame_index == 2
    qtbot.keyClick(dialog.table, Qt.Key.Key_Down)
    assert dialog.current().frame_index == 3
    qtbot.keyClick(dialog.table, Qt.Key.Key_Up)
    assert dialog.current().frame_index == 2
    qtbot.keyClick(dialog.table, Qt.Key.Key_Right)
    qtbot.keyClick(dialog.table, Qt.Key.Key_5)
    assert final(store, 3) == 5
    assert final(store, 2) is None  # still a disagreement: no final label
    qtbot.keyClick(dialog.table, Qt.Key.Key_4)
    assert final(store, 2) == 4
    assert dialog.rows == [] and dialog.summary.text() == "0 disagreement(s) to resolve"
    assert store.status()["disagreements"] == 0


def test_undo_brings_a_disagreement_back(qtbot, dialog, store):
    qtbot.keyClick(dialog.table, Qt.Key.Key_6)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert final(store, 1) is None
    assert [d.frame_index for d in dialog.rows] == [1, 2, 3]
    assert dialog.message.text().startswith("Undid: adjudicate 6")


def test_show_resolved_and_clear(qtbot, dialog, store):
    qtbot.keyClick(dialog.table, Qt.Key.Key_7)
    dialog.show_resolved.setChecked(True)
    assert [d.frame_index for d in dialog.rows] == [1, 2, 3]
    assert dialog.table.item(0, 6).text() == "7 Neutral"
    dialog.table.setCurrentCell(0, 0)
    qtbot.keyClick(dialog.table, Qt.Key.Key_0)
    assert final(store, 1) is None


def test_deleted_frames_are_not_listed(qtbot, store):
    store.set_deletion([store.frames(CLIP)[2].id], "blur", True)
    dlg = open_adjudication(None, store)
    qtbot.addWidget(dlg)
    assert [d.frame_index for d in dlg.rows] == [1, 3]
    dlg.close()


def test_blind_labelling_pass_switch(qtbot, dialog, store):
    dialog.blind.setChecked(True)
    assert store.is_blind(CLIP)
    dialog.blind.setChecked(False)
    assert not store.is_blind(CLIP)
