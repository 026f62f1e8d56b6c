"""MTCNN detection on the real photographs (the real network, no mocks)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import clipmaker
import cv2
import numpy as np
import pytest

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.faces.detector import (
    Detection,
    DetectorSettings,
    FaceDetector,
    detect,
    get_detector,
    order_faces,
    pyramid_scales,
)

FACES = ("obama", "obama2", "biden", "astronaut", "camera", "messi5")
NONFACES = ("coffee", "rocket", "chelsea")


def load(data_dir, stem: str, longest: int = 640) -> np.ndarray:
    for sub in ("faces", "nonface"):
        for ext in (".jpg", ".png"):
            p = data_dir / sub / f"{stem}{ext}"
            if p.exists():
                img = cv2.imread(str(p))
                s = min(1.0, longest / max(img.shape[:2]))
                return cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img
    raise FileNotFoundError(stem)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return get_detector(DetectorSettings(device="cpu"))


@pytest.fixture(scope="module")
def faces_of(detector, data_dir):
    """Detections of a photograph (at 640 px), computed once per module: several tests look at
    the same photograph's faces, and MTCNN is the suite's cost."""
    cache: dict[str, list[Detection]] = {}

    def get(stem: str) -> list[Detection]:
        if stem not in cache:
            cache[stem] = detector.detect(load(data_dir, stem))
        return cache[stem]

    return get


@pytest.fixture(scope="module")
def messi_720p(data_dir):
    """messi5 upscaled to 720p, and everything a loose detector finds there (computed once)."""
    img = cv2.resize(load(data_dir, "messi5"), (1280, 720))
    loose = FaceDetector(DetectorSettings(device="cpu", min_prob=0.0, min_visible=0.0))
    return img, loose, loose.detect(img)


def test_importing_faces_does_not_import_torch():
    code = (
        "import sys; import feasstm_gui.core.faces, feasstm_gui.core.faces.detector, "
        "feasstm_gui.core.faces.align, feasstm_gui.core.faces.quality, "
        "feasstm_gui.core.faces.tracker; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("stem", FACES)
def test_one_face_with_five_landmarks_in_mtcnn_order(faces_of, data_dir, stem):
    img = load(data_dir, stem)
    h, w = img.shape[:2]
    dets = faces_of(stem)
    assert len(dets) == 1, [d.to_dict() for d in dets]
    d = dets[0]
    assert d.prob > 0.99
    assert d.landmarks.shape == (5, 2) and d.landmarks.dtype == np.float64
    x1, y1, x2, y2 = d.box
    assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    le, re, nose, ml, mr = d.landmarks
    assert le[0] < re[0] and ml[0] < mr[0]  # image-left first
    assert min(le[1], re[1]) < nose[1] < max(ml[1], mr[1])  # eyes above nose above mouth
    assert x1 <= nose[0] <= x2 and y1 <= nose[1] <= y2


@pytest.mark.parametrize("stem", NONFACES)
def test_no_face_in_non_face_images(detector, data_dir, stem):
    assert detector.detect(load(data_dir, stem)) == []


def test_low_probability_boxes_are_filtered_and_boxes_clipped(messi_720p):
    # messi5 upscaled to 720p: MTCNN adds two low-probability boxes, one partly outside
    img, _, everything = messi_720p
    strict = get_detector(DetectorSettings(device="cpu"))
    assert len(strict.detect(img)) == 1
    assert len(everything) >= 2
    for d in everything:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 <= x2 <= 1280 and 0 <= y1 <= y2 <= 720
        assert d.visible <= 1.0
    assert min(d.prob for d in everything) < 0.9


def test_rgb_and_bgr_give_the_same_faces(detector, faces_of, data_dir):
    img = load(data_dir, "astronaut")
    a = faces_of("astronaut")[0]
    b = detector.detect(np.ascontiguousarray(img[:, :, ::-1]), bgr=False)[0]
    assert np.array_equal(a.landmarks, b.landmarks) and a.prob == b.prob


def test_detection_is_deterministic(detector, faces_of, data_dir):
    img = load(data_dir, "obama2")
    a, b = faces_of("obama2"), detector.detect(img)  # an earlier call and a fresh one
    assert [x.to_dict(6) for x in a] == [x.to_dict(6) for x in b]


def test_thresholds_and_min_face_size(detector, data_dir):
    img = load(data_dir, "astronaut")  # 512 x 512, face about 110 px
    assert detector.detect(img, min_face_size=600) == []  # no pyramid level at all
    assert len(detector.detect(img, min_face_size=60)) == 1
    # the module-level helper takes the same options
    assert len(detect(img, thresholds=(0.7, 0.8, 0.9), settings=DetectorSettings(device="cpu"))) == 1


def test_region_detection_matches_full_frame_landmarks(detector):
    """The region cascade reproduces the full frame's pyramid: same face, same landmarks."""
    frame, _ = clipmaker.render("obama", (190, 4.0, 700, 330), (1280, 720))
    full = detector.detect(frame)
    assert len(full) == 1
    f = full[0]
    s = f.size
    cx, cy = f.center
    roi = (cx - 1.25 * s, cy - 1.25 * s, cx + 1.25 * s, cy + 1.25 * s)
    region = detector.detect(frame, roi=roi, face_size=(0.4 * s, 3 * s))
    assert len(region) == 1
    r = region[0]
    assert r.source == "roi"
    assert np.abs(r.landmarks - f.landmarks).max() < 0.01
    assert np.abs(np.subtract(r.raw_box, f.raw_box)).max() < 0.01
    assert abs(r.prob - f.prob) < 1e-4


def test_region_and_whole_frame_detections_use_their_own_thread_counts():
    """Regions run on `region_threads` torch threads, whole frames on `num_threads`; the count
    does not change the landmarks."""
    import torch

    frame, _ = clipmaker.render("obama", (190, 4.0, 700, 330), (1280, 720))
    one = FaceDetector(DetectorSettings(device="cpu", num_threads=2, region_threads=1))
    two = FaceDetector(DetectorSettings(device="cpu", num_threads=2, region_threads=2))
    f = one.detect(frame)[0]
    assert torch.get_num_threads() == 2
    s, (cx, cy) = f.size, f.center
    roi = (cx - 1.25 * s, cy - 1.25 * s, cx + 1.25 * s, cy + 1.25 * s)
    a = one.detect(frame, roi=roi, face_size=(0.4 * s, 3 * s))[0]
    assert torch.get_num_threads() == 1
    b = two.detect(frame, roi=roi, face_size=(0.4 * s, 3 * s))[0]
    assert torch.get_num_threads() == 2
    assert np.abs(a.landmarks - b.landmarks).max() < 1e-3
    assert DetectorSettings.from_dict({"num_threads": 2}).region_threads == 1  # older projects


def test_whole_frame_cascade_equals_facenet_pytorch(messi_720p):
    img, loose, ref = messi_720p
    ours = loose.detect(img, face_size=(1.0, 1e9))  # every pyramid level, our cascade
    assert len(ours) == len(ref)
    for a, b in zip(ref, ours):
        assert np.abs(a.landmarks - b.landmarks).max() < 0.01
        assert abs(a.prob - b.prob) < 1e-4


def test_region_only_finds_faces_inside_it(detector):
    shot = next(s for s in clipmaker.STANDARD if s.name == "two")
    frames, _ = clipmaker.render_clip([dataclasses.replace(shot, frames=1)])
    frame = frames[0]
    assert len(detector.detect(frame)) == 2
    left = detector.detect(frame, roi=(0, 0, 320, 480))
    assert len(left) == 1 and left[0].center[0] < 320


def test_manual_box_finds_the_landmarks_inside(detector, faces_of, data_dir):
    img = load(data_dir, "astronaut")
    ref = faces_of("astronaut")[0]
    x1, y1, x2, y2 = ref.raw_box
    got = detector.detect_in_box(img, (x1 - 8, y1 + 5, x2 + 6, y2 - 4))
    assert got is not None
    assert np.linalg.norm(got.landmarks - ref.landmarks, axis=1).max() < 0.1 * ref.iod


def test_manual_box_without_a_detectable_face_still_gives_landmarks(detector, data_dir):
    """MTCNN's last stage alone on the user's box: landmarks come back, with ONet's own score."""
    img = load(data_dir, "coffee")
    got = detector.detect_in_box(img, (200, 100, 360, 260))
    assert got is not None and got.source == "box"
    assert got.landmarks.shape == (5, 2)
    assert np.all(got.landmarks[:, 0] > 100) and np.all(got.landmarks[:, 0] < 460)
    assert detector.detect_in_box(img, (10, 10, 11, 11)) is None


def test_manual_landmarks_make_a_detection():
    pts = [[40, 50], [80, 50], [60, 70], [45, 90], [75, 90]]
    d = Detection.from_landmarks(pts, (120, 120, 3))
    assert d.source == "manual" and d.prob == 1.0
    assert d.iod == pytest.approx(40)
    assert 0 <= d.box[0] < 40 and d.box[2] > 80


def test_order_faces_by_size_position_and_probability():
    lm = np.zeros((5, 2))
    a = Detection((0, 0, 10, 10), 0.99, lm)
    b = Detection((50, 0, 80, 30), 0.95, lm)
    c = Detection((20, 0, 40, 20), 0.999, lm)
    assert order_faces([a, b, c], "size") == [b, c, a]
    assert order_faces([a, b, c], "left") == [a, c, b]
    assert order_faces([a, b, c], "prob") == [c, a, b]
    with pytest.raises(FeasstmError):
        order_faces([a], "random")


def test_settings_and_detections_round_trip_through_json(faces_of):
    s = DetectorSettings(min_face_size=30, thresholds=(0.5, 0.6, 0.7), device="cpu")
    assert DetectorSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    d = faces_of("camera")[0]
    back = Detection.from_dict(json.loads(json.dumps(d.to_dict())))
    assert np.abs(back.landmarks - d.landmarks).max() < 1e-3


def test_pyramid_matches_facenet_pytorch():
    assert pyramid_scales(720, 1280, 20, 0.709)[:3] == [0.6, 0.6 * 0.709, 0.6 * 0.709 * 0.709]
    assert len(pyramid_scales(720, 1280, 20, 0.709)) == 11


def test_bad_images_are_refused(detector):
    with pytest.raises(FeasstmError):
        detector.detect(np.zeros((10, 10, 3), np.float32))
    if not _cuda():
        with pytest.raises(FeasstmError):
            FaceDetector(DetectorSettings(device="cuda"))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_confirm_on_the_cascades_own_onet_box_gives_the_same_face(data_dir):
    """ONet alone on the box the region cascade's ONet ran on: the same probability, box and
    landmarks (the same crop resampling and float32 arithmetic; torch may round the last bit of a
    float32 differently, so to 1e-3 px)."""
    from feasstm_gui.core.faces.detector import DetectorSettings, FaceDetector

    for runtime in ("onnx", "torch"):
        det = FaceDetector(DetectorSettings(device="cpu", runtime=runtime))
        image = load(data_dir, "obama", longest=1280)
        face = det.detect(image, face_size=(20, 2000))[0]
        assert face.net_box is not None
        again = det.confirm(image, face.net_box)
        assert again is not None
        assert again.prob == face.prob
        assert np.abs(again.landmarks - face.landmarks).max() < 1e-3
        assert np.abs(np.subtract(again.raw_box, face.raw_box)).max() < 1e-3
        # a box beside the face: ONet says no face
        x1, y1, x2, y2 = face.net_box
        side = x2 - x1
        assert det.confirm(image, (x1 + 1.5 * side, y1, x2 + 1.5 * side, y2)) is None


@pytest.mark.parametrize("matrix", [True, False])
def test_numpy_nms_keeps_what_torchvision_keeps(monkeypatch, matrix):
    """The region cascade's NMS (numpy) keeps the boxes torchvision's keeps, in its order: random
    boxes with tied scores, nested and identical boxes, empty and degenerate ones, whether the
    overlaps are computed as one matrix or one kept box at a time."""
    import torch
    from torchvision.ops import nms

    from feasstm_gui.core.faces import detector as det

    monkeypatch.setattr(det, "NMS_MATRIX", 10_000 if matrix else 0)
    rng = np.random.default_rng(19)
    for n in (0, 1, 2, 7, 40, 300):
        xy = rng.uniform(0, 200, size=(n, 2)).astype(np.float32)
        wh = rng.uniform(0, 60, size=(n, 2)).astype(np.float32)
        boxes = np.concatenate([xy, xy + wh], axis=1)
        if n >= 7:
            boxes[3] = boxes[2]  # identical boxes
            boxes[5] = boxes[4] + np.float32([2, 2, -2, -2])  # nested
            boxes[6, 2:] = boxes[6, :2]  # empty
        scores = rng.choice(np.float32([0.61, 0.7, 0.85, 0.99]), size=n).astype(np.float32)
        for threshold in (0.5, 0.7):
            ours = det._nms(boxes, scores, threshold)
            theirs = nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold).numpy()
            assert ours.tolist() == theirs.tolist(), (n, threshold)
