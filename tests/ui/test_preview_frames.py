"""A frame stored as a preview (issue 19: `frames/<clip>/preview-<w>x<h>/`, smaller than the
frame): the preview draws the box and landmarks, which are in the full frame's pixels, where
they belong, and the identities gallery cuts the same face from it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import FrameSpec
from PySide6.QtCore import QSize
from PySide6.QtGui import QPixmap

from feasstm_gui.core.ingest.media import preview_folder, preview_image
from feasstm_gui.core.store import views
from feasstm_gui.ui.identities import _face
from feasstm_gui.ui.thumbs import Loaded

CLIP = "片段 预览"


def _to_preview(built, row) -> tuple[str, int, int]:
    """Store frame `row` as a half-size preview, as extraction does; (path, width, height)."""
    full = cv2.imread(str(built.folder / row.image))
    h, w = full.shape[:2]
    rel = f"frames/{CLIP}/{preview_folder(w, h)}/{row.frame_index:06d}.jpg"
    (built.folder / rel).parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", preview_image(full, max(w, h) // 2))
    (built.folder / rel).write_bytes(buf.tobytes())
    with built.store.transaction():
        built.store.db.execute("UPDATE frames SET image=? WHERE id=?", (rel, row.id))
    return rel, w, h


def _array(pixmap: QPixmap) -> np.ndarray:
    image = pixmap.toImage()
    return np.array([[image.pixelColor(x, y).getRgb()[:3] for x in range(image.width())]
                     for y in range(image.height())], float)


def test_the_box_is_drawn_on_the_face_of_a_preview(window, make_project, qtbot):
    built = make_project({CLIP: [FrameSpec(), FrameSpec()]})
    row = views.clip_frames(built.store, CLIP)[0]
    full_path = built.folder / row.image
    rel, w, h = _to_preview(built, row)
    window.set_store(built.store)
    window.resize(1200, 800)
    window.strip.go_to_row(0)
    canvas = window.preview.canvas
    qtbot.waitUntil(lambda: canvas.path.endswith(rel)
                    and isinstance(canvas.loader.peek(canvas.path), Loaded), timeout=5000)
    item = canvas.loader.peek(canvas.path)
    assert item.source_size == QSize(w, h)  # what the box is measured in
    assert item.pixmap.width() <= w // 2 + 1  # what was decoded: the small file
    _, target, scale = canvas._layout()
    assert scale == pytest.approx(min(canvas.width() / w, canvas.height() / h))
    face = built.store.face(row.id)
    shot = canvas.grab().toImage()
    x1, y1, x2, y2 = face.box
    edge = canvas.to_widget(x1, (y1 + y2) / 2)  # the box's left edge, half way down
    colour = shot.pixelColor(round(edge.x()), round(edge.y()))
    assert colour.green() > 200 and colour.red() < 80 and colour.blue() < 160, colour.getRgb()

    # the identities gallery's face: the same part of the frame as from the full-size file
    from_full = _face(Loaded(QPixmap(str(full_path)), QSize(w, h)), face.box)
    from_preview = _face(Loaded(QPixmap(str(built.folder / rel)), QSize(w, h)), face.box)
    a, b = _array(from_full), _array(from_preview)
    assert a.shape == b.shape
    assert np.abs(a - b).mean() < 12  # a blurrier copy of the same face, not another place
    shifted = _face(Loaded(QPixmap(str(built.folder / rel)), QSize(w, h)),
                    [x1 + 40, y1 + 30, x2 + 40, y2 + 30])
    assert np.abs(a - _array(shifted)).mean() > np.abs(a - b).mean() * 2
