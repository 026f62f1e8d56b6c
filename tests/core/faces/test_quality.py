"""Quality scores and suggested deletion reasons on ground-truth clips built from real photos."""

from __future__ import annotations

import json

import clipmaker
import cv2
import numpy as np
import pytest

from feasstm_gui.core.faces.align import AlignSettings, align_face
from feasstm_gui.core.faces.detector import DetectorSettings, get_detector
from feasstm_gui.core.faces.quality import (
    FaceQuality,
    QualityThresholds,
    apply_clip_normalisation,
    duplicate_distance,
    is_near_duplicate,
    normalise_sharpness,
    pose_angles,
    score_face,
    suggest_flags,
)

ALIGN = AlignSettings()


@pytest.fixture(scope="module")
def detector():
    return get_detector(DetectorSettings(device="cpu"))


@pytest.fixture(scope="module")
def scored(detector):
    """The standard clip, every frame detected, aligned and scored (the first face of the ground
    truth); sharpness normalised per shot. Frames with a face are searched in a region around the
    known face (same result as the full frame, much faster); the others in the full frame."""
    frames, truth = clipmaker.render_clip()
    scores, crops, dets, prev = [], [], [], None
    for frame, t in zip(frames, truth):
        if t["faces"]:
            (cx, cy), side = t["faces"][0]["center"], t["faces"][0]["side"]
            roi = (cx - 1.5 * side, cy - 1.5 * side, cx + 1.5 * side, cy + 1.5 * side)
            found = detector.detect(frame, roi=roi, face_size=(0.4 * side, 3 * side))
        else:
            found = detector.detect(frame)
        if not found:
            scores.append(None)
            crops.append(None)
            dets.append([])
            continue
        crop, m = align_face(frame, found[0].landmarks, ALIGN)
        scores.append(score_face(frame.shape, found[0], crop, m, ALIGN, prev))
        crops.append(crop)
        dets.append(found)
        prev = crop
    for shot in {t["shot"] for t in truth}:
        apply_clip_normalisation([scores[i] for i, t in enumerate(truth) if t["shot"] == shot])
    return frames, truth, scores, crops, dets


def test_non_face_frames_have_no_detection(scored):
    _, truth, scores, _, _ = scored
    nonface = [i for i, t in enumerate(truth) if t["splice"] or t["shot"] == "nonface"]
    assert len(nonface) >= 5
    assert all(scores[i] is None for i in nonface)
    faces = [i for i, t in enumerate(truth) if t["faces"]]
    assert all(scores[i] is not None for i in faces)


def test_blurred_frames_rank_last_by_sharpness(scored):
    _, truth, scores, _, _ = scored
    shot = [i for i, t in enumerate(truth) if t["shot"] == "a1" and scores[i] is not None]
    blurred = {i for i in shot if truth[i]["blur"]}
    assert len(blurred) == 3
    ranked = sorted(shot, key=lambda i: scores[i].sharpness_rel)
    assert set(ranked[: len(blurred)]) == blurred
    for i in shot:
        assert ("blur" in suggest_flags(scores[i])) == (i in blurred), i


def test_the_partial_face_is_suggested_incomplete(scored):
    _, truth, scores, _, _ = scored
    partial = [i for i, t in enumerate(truth) if t["partial"]]
    assert partial
    for i in partial:
        assert "incomplete" in suggest_flags(scores[i]), (i, scores[i])
    whole = [i for i, t in enumerate(truth) if t["shot"] in ("a1", "a2", "b") and scores[i]]
    assert not any("incomplete" in suggest_flags(scores[i]) for i in whole)
    assert not any("alignment_failure" in suggest_flags(scores[i]) for i in whole)


def test_partial_face_photograph(detector, data_dir):
    img = cv2.imread(str(data_dir / "faces" / "obama_partial_face.jpg"))
    img = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    face = detector.detect(img)[0]
    crop, m = align_face(img, face.landmarks, ALIGN)
    q = score_face(img.shape, face, crop, m, ALIGN)
    assert q.box_visible < 0.8
    assert "incomplete" in suggest_flags(q)


def test_pose_from_landmarks(detector, data_dir):
    frontal = detector.detect(cv2.imread(str(data_dir / "faces" / "astronaut.png")))[0]
    turned = detector.detect(cv2.imread(str(data_dir / "faces" / "camera.png")))[0]
    roll_f, yaw_f = pose_angles(frontal.landmarks)
    _, yaw_t = pose_angles(turned.landmarks)
    assert abs(yaw_f) < 10 and abs(roll_f) < 10
    assert abs(yaw_t) > 25
    # a mirrored face turns the other way
    mirrored = frontal.landmarks.copy()
    mirrored[:, 0] = -mirrored[:, 0]
    mirrored = mirrored[[1, 0, 2, 4, 3]]
    assert pose_angles(mirrored)[1] == pytest.approx(-yaw_f, abs=1e-6)


def test_scrambled_landmarks_suggest_alignment_failure(scored):
    frames, truth, scores, _, dets = scored
    i = next(i for i, t in enumerate(truth) if t["shot"] == "a1" and scores[i])
    face = dets[i][0]
    face.landmarks = face.landmarks[[3, 4, 2, 0, 1]]  # mouth where the eyes are
    crop, m = align_face(frames[i], face.landmarks, ALIGN)
    q = score_face(frames[i].shape, face, crop, m, ALIGN)
    assert "alignment_failure" in suggest_flags(q)


def test_near_duplicates(scored):
    _, truth, scores, crops, _ = scored
    a1 = [i for i, t in enumerate(truth) if t["shot"] == "a1" and crops[i] is not None]
    assert duplicate_distance(crops[a1[0]], crops[a1[0]]) == pytest.approx(0.0, abs=1e-9)
    assert duplicate_distance(crops[a1[0]], None) is None
    b = next(i for i, t in enumerate(truth) if t["shot"] == "b")
    assert duplicate_distance(crops[a1[0]], crops[b]) > 0.3
    assert duplicate_distance(crops[a1[3]], crops[a1[4]]) < 0.1
    q = scores[a1[1]]
    q.duplicate = 0.001
    assert is_near_duplicate(q)


def test_normalisation_and_thresholds_are_plain_data():
    assert normalise_sharpness([10.0, None, 20.0, 30.0]) == [0.5, None, 1.0, 1.5]
    assert normalise_sharpness([None]) == [None]
    t = QualityThresholds(blur_relative=0.3)
    assert QualityThresholds.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    q = FaceQuality(prob=0.99, sharpness=100, box_visible=1, landmark_margin=2, crop_visible=1,
                    roll=0, yaw=0, fit_residual=0.05, iod_px=40, sharpness_rel=0.35)
    assert FaceQuality.from_dict(json.loads(json.dumps(q.to_dict()))).sharpness_rel == 0.35
    assert suggest_flags(q, t) == set()
    assert suggest_flags(q) == {"blur"}
    q.prob = 0.5
    assert "alignment_failure" in suggest_flags(q, t)
    assert np.isfinite(q.sharpness)
