"""Frames detected in batches (the GPU path of `process_clip`), run here on the CPU: the real
MTCNN, the real store. Batched whole-frame detection must store the faces the region tracker
stores (the same landmarks as full-frame MTCNN either way)."""

from __future__ import annotations

import clipmaker
import numpy as np
import pytest
from clipmaker import Shot

from feasstm_gui.core.faces.detector import DetectorSettings, FaceDetector
from feasstm_gui.core.ingest.importer import import_videos
from feasstm_gui.core.ingest.pipeline import process_clip
from feasstm_gui.core.jobs import drive
from feasstm_gui.core.store import Store

CLIP = "批 clip"
SHOTS = [
    Shot("a", "obama", 14, (150, -4.0, 300, 215), (175, 4.0, 340, 235), splice={6: "coffee"}),
    Shot("b", "obama2", 7, (120, 0.0, 160, 210), (128, 2.0, 168, 214)),
]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path, truth = clipmaker.make_clip(tmp_path_factory.mktemp("batch") / f"{CLIP}.avi", SHOTS)
    return path, truth


def _run(folder, video_path, **kw):
    store = Store.create(folder, annotator="alice")
    assert drive(import_videos(store, [video_path])).exit_status == 0
    result = drive(process_clip(store, CLIP, device="cpu", **kw))
    assert result.exit_status == 0, result.problems
    faces = {f.frame_id: f for f in store.current_faces(CLIP)}
    rows = store.frames(CLIP)
    out = [(r.frame_index, r.irrelevant, faces.get(r.id)) for r in rows]
    store.close()
    return out


def test_detect_batch_equals_detect_frame_by_frame(video):
    frames = clipmaker.read_frames(video[0])[:3]
    det = FaceDetector(DetectorSettings(device="cpu"))
    batched = det.detect_batch(frames)
    assert len(batched) == 3
    for frame, faces in zip(frames, batched):
        one = det.detect(frame)
        assert len(one) == len(faces) >= 1
        for a, b in zip(one, faces):
            assert np.abs(a.landmarks - b.landmarks).max() < 0.01
            assert a.prob == pytest.approx(b.prob, abs=1e-5)
            assert a.source == b.source == "full"
    assert det.detect_batch([]) == []


def test_batched_process_stores_the_region_trackers_faces(video, tmp_path):
    want = _run(tmp_path / "逐帧", video[0])
    got = _run(tmp_path / "成批", video[0], detect_batch=4)
    assert [g[0] for g in got] == [w[0] for w in want] == list(range(21))
    for (i, irr_g, g), (_, irr_w, w) in zip(got, want):
        assert irr_g == irr_w, f"frame {i}"
        assert (g is None) == (w is None), f"frame {i}: a face in one run only"
        if w is None:
            continue
        if w.scores["mode"] == "confirm":  # ONet alone (issue 19): within its bound
            iod = float(np.linalg.norm(np.subtract(g.landmarks[1], g.landmarks[0])))
            move = np.linalg.norm(np.subtract(g.landmarks, w.landmarks), axis=1).mean() / iod
            assert move <= 0.05, f"frame {i}"
        else:  # searched: full-frame MTCNN's landmarks
            np.testing.assert_allclose(g.landmarks, w.landmarks, atol=0.01, err_msg=f"frame {i}")
        assert g.scores["mode"] == "full"
    assert sum(g is not None for _, _, g in got) >= 18  # the actor in every frame but the splice
