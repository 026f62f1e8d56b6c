"""Alignment onto the documented templates, checked on real photographs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.faces.align import (
    PRESETS,
    AlignSettings,
    align_face,
    roll_degrees,
    similarity_transform,
    template,
    transform_points,
)
from feasstm_gui.core.faces.detector import DetectorSettings, get_detector

FRONTAL = ("obama", "obama2", "biden", "astronaut")

#: The coordinates written in docs/ALIGNMENT.md (100 x 100, each preset's default margin).
DOCUMENTED = {
    "emotion_fan": [(31.82, 31.43), (66.85, 31.42), (49.34, 51.04), (33.61, 68.68), (65.07, 68.68)],
    "arcface": [(34.19, 46.16), (65.65, 45.98), (50.02, 64.05), (37.10, 82.47), (63.15, 82.33)],
}


def load(data_dir, stem: str, longest: int = 640) -> np.ndarray:
    p = next((data_dir / "faces").glob(f"{stem}.*"))
    img = cv2.imread(str(p))
    s = min(1.0, longest / max(img.shape[:2]))
    return cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img


@pytest.fixture(scope="module")
def detector():
    return get_detector(DetectorSettings(device="cpu"))


@pytest.fixture(scope="module")
def photo_face(detector, data_dir):
    """(image at 640 px, its first face) per photograph, detected once per module: each preset
    aligns the same detection."""
    cache: dict = {}

    def get(stem: str):
        if stem not in cache:
            img = load(data_dir, stem)
            cache[stem] = img, detector.detect(img)[0]
        return cache[stem]

    return get


@pytest.mark.parametrize("preset", sorted(DOCUMENTED))
def test_templates_are_the_documented_coordinates(preset):
    assert np.abs(template(preset, 100) - np.array(DOCUMENTED[preset])).max() < 0.006


def test_templates_scale_with_size_and_margin():
    t100 = template("emotion_fan", 100)
    assert np.allclose(template("emotion_fan", 224), t100 * 2.24)
    unit = np.array(PRESETS["emotion_fan"].unit)
    assert np.allclose(template("emotion_fan", 100, 0.0), unit * 100)
    assert np.allclose(template("emotion_fan", 200, 0.5), (0.5 + unit) / 2.0 * 200)
    # more margin: the face gets smaller and stays centred where it was
    wide = template("arcface", 100, 0.3)
    assert np.linalg.norm(wide[1] - wide[0]) < np.linalg.norm(template("arcface", 100)[1] - template("arcface", 100)[0])


def test_similarity_is_recovered_exactly():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 200, (5, 2))
    a, s, t = np.radians(17), 0.43, np.array([12.0, -7.0])
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = src @ (s * r).T + t
    m = similarity_transform(src, dst, [1, 1, 0.1, 0.05, 0.05])
    assert np.allclose(m[:, :2], s * r) and np.allclose(m[:, 2], t)
    assert np.allclose(transform_points(m, src), dst)
    with pytest.raises(FeasstmError):
        similarity_transform(np.zeros((5, 2)), dst)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("stem", FRONTAL)
def test_eye_centres_land_on_the_template(photo_face, stem, preset):
    img, face = photo_face(stem)
    crop, m = align_face(img, face.landmarks, preset=preset)
    assert crop.shape == (100, 100, 3)
    eyes = transform_points(m, face.landmarks)[:2]
    assert np.linalg.norm(eyes - template(preset, 100)[:2], axis=1).max() < 1.0


def test_a_tilted_face_comes_out_level(detector, data_dir):
    img = load(data_dir, "obama", 700)
    h, w = img.shape[:2]
    straight = detector.detect(img)[0]
    rot = cv2.getRotationMatrix2D(tuple(float(v) for v in straight.center), 25, 1.0)
    tilted = cv2.warpAffine(img, rot, (w, h), borderMode=cv2.BORDER_REPLICATE)
    face = detector.detect(tilted)[0]
    assert abs(roll_degrees(face.landmarks)) > 20  # the input really is tilted
    crop, m = align_face(tilted, face.landmarks)
    assert abs(roll_degrees(transform_points(m, face.landmarks))) < 0.5
    # independent check: MTCNN on the aligned crop (padded, enlarged) sees a level face
    big = cv2.copyMakeBorder(cv2.resize(crop, (300, 300), interpolation=cv2.INTER_CUBIC),
                             60, 60, 60, 60, cv2.BORDER_REPLICATE)
    again = detector.detect(big)[0]
    assert abs(roll_degrees(again.landmarks)) < 3.0
    # and the crop looks like the crop of the untilted photograph
    ref, _ = align_face(img, straight.landmarks)
    a = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(float)
    b = cv2.cvtColor(ref, cv2.COLOR_BGR2GRAY).astype(float)
    ncc = ((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std())
    assert ncc > 0.9


def test_large_faces_are_shrunk_without_moving_the_landmarks(detector, data_dir):
    """A big face (scale < 0.5) takes the anti-aliased path; it must give the crop that a
    half-size image gives, i.e. the two-step transform is the same mapping."""
    full = cv2.imread(str(data_dir / "faces" / "obama.jpg"))  # face about 350 px
    face = detector.detect(cv2.resize(full, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))[0]
    lm_full = (face.landmarks + 0.5) / 0.5 - 0.5  # the same points in the full-size photo
    crop_full, m_full = align_face(full, lm_full)
    half = cv2.resize(full, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    crop_half, _ = align_face(half, face.landmarks)
    assert np.hypot(m_full[0, 0], m_full[1, 0]) < 0.5
    diff = np.abs(crop_full.astype(float) - crop_half.astype(float)).mean()
    assert diff < 4.0


def test_manual_landmarks_align_directly(data_dir):
    img = load(data_dir, "astronaut")
    pts = np.array([[203.0, 105.0], [245.0, 106.0], [224.0, 128.0], [207.0, 148.0], [241.0, 149.0]])
    crop, m = align_face(img, pts, AlignSettings(preset="arcface", size=112, margin=0.0))
    assert crop.shape == (112, 112, 3)
    assert np.linalg.norm(transform_points(m, pts)[:2] - template("arcface", 112, 0)[:2], axis=1).max() < 1.5


def test_settings_are_checked_and_recorded():
    with pytest.raises(FeasstmError):
        AlignSettings(preset="nope")
    with pytest.raises(FeasstmError):
        AlignSettings(size=4)
    s = AlignSettings(preset="emotion_fan", size=100)
    d = json.loads(json.dumps(s.to_dict()))
    assert d["margin"] == 0.25 and len(d["template"]) == 5 and d["size"] == 100
    assert AlignSettings.from_dict(d).effective_margin == 0.25
    with pytest.raises(FeasstmError):
        align_face(np.zeros((50, 50, 3), np.uint8), np.full((5, 2), np.nan))
