"""Quality scores of an aligned face, and the deletion reasons they suggest.

The scores are stored per frame; the suggested reasons (``alignment_failure``, ``incomplete``,
``blur``) are stored apart from the annotator's and never drop a frame by themselves
(docs/ALIGNMENT.md explains each score and threshold).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from feasstm_gui.core.faces.align import AlignSettings, template, transform_points
from feasstm_gui.core.faces.detector import Detection
from feasstm_gui.core.project_settings import StoredSettings

#: Depth of the nose tip in front of the eyes, in half inter-ocular distances, of an average
#: face: turning the head by yaw moves the nose sideways by this times sin(yaw) while the eyes
#: close up by cos(yaw), so the nose's offset from the face's midline is about K * tan(yaw).
NOSE_DEPTH = 1.2


@dataclass(frozen=True)
class QualityThresholds(StoredSettings):
    """When a score suggests a deletion reason (stored in the project)."""

    #: alignment_failure: detection probability below this
    min_prob: float = 0.95
    #: alignment_failure: head turned further than this (degrees, estimated from the landmarks)
    max_yaw: float = 45.0
    #: alignment_failure: eye line steeper than this (degrees); MTCNN's landmarks get unreliable
    max_roll: float = 60.0
    #: alignment_failure: aligned landmarks further than this (RMS, in template inter-ocular
    #: distances) from the template: the five points do not look like a face
    max_fit_residual: float = 0.35
    #: incomplete: less than this fraction of the face box inside the frame
    min_box_visible: float = 0.92
    #: incomplete: a landmark closer than this (in inter-ocular distances) to the frame's edge
    min_landmark_margin: float = 0.1
    #: incomplete: less than this fraction of the crop taken from inside the frame
    min_crop_visible: float = 0.7
    #: blur: sharpness below this fraction of the clip's median sharpness
    blur_relative: float = 0.4
    #: blur: sharpness below this absolute value (variance of the Laplacian), whatever the clip
    blur_absolute: float = 20.0
    #: near-duplicate of the previous kept frame: duplicate distance below this (not a deletion
    #: reason; shown so an annotator can thin out still shots)
    max_duplicate: float = 0.003


@dataclass
class FaceQuality:
    """Scores of one aligned face. ``sharpness_rel`` is filled when the whole clip is scored."""

    prob: float
    sharpness: float
    box_visible: float
    landmark_margin: float
    crop_visible: float
    roll: float
    yaw: float
    fit_residual: float
    iod_px: float
    duplicate: float | None = None
    sharpness_rel: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if v is None else round(float(v), 5)) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaceQuality:
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__})


def sharpness(crop: np.ndarray, settings: AlignSettings | None = None) -> float:
    """Variance of the Laplacian over the face's interior (eyes to mouth, plus a border), so a
    sharp background does not hide a blurred face. Compare within a clip (see normalise)."""
    import cv2

    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    size = grey.shape[0]
    s = settings or AlignSettings(size=size)
    t = template(s.preset, size, s.margin)
    iod = float(np.linalg.norm(t[1] - t[0]))
    x0 = int(max(0, math.floor(t[:, 0].min() - 0.35 * iod)))
    x1 = int(min(size, math.ceil(t[:, 0].max() + 0.35 * iod)))
    y0 = int(max(0, math.floor(t[:, 1].min() - 0.45 * iod)))
    y1 = int(min(size, math.ceil(t[:, 1].max() + 0.3 * iod)))
    region = grey[y0:y1, x0:x1] if (x1 - x0 >= 8 and y1 - y0 >= 8) else grey
    lap = cv2.Laplacian(region.astype(np.float32), cv2.CV_32F, ksize=3)
    return float(lap.var())


def duplicate_distance(crop: np.ndarray, previous: np.ndarray | None) -> float | None:
    """1 - normalised cross-correlation of two crops (32 x 32 grey): 0 for the same image,
    about 0.01-0.05 for neighbouring frames of a moving face, near 1 for unrelated faces."""
    if previous is None:
        return None
    a, b = _thumb(crop), _thumb(previous)
    return float(max(0.0, 1.0 - float((a * b).mean())))


def _thumb(crop: np.ndarray) -> np.ndarray:
    import cv2

    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    t = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float64)
    t -= t.mean()
    sd = t.std()
    return t / sd if sd > 1e-6 else t


def pose_angles(landmarks: np.ndarray) -> tuple[float, float]:
    """(roll, yaw) in degrees from the five landmarks. Roll is the eye line's angle (positive:
    the image-right eye is lower). Yaw is estimated from how far the nose sits from the face's
    midline (the line through the eyes' and the mouth's midpoints): about 0 for a frontal face,
    positive when the nose points to the image's right."""
    lm = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    d = lm[1] - lm[0]
    iod = float(np.hypot(*d))
    roll = float(np.degrees(np.arctan2(d[1], d[0])))
    if iod < 1e-6:
        return roll, 90.0
    u = d / iod
    mid = (lm[0] + lm[1] + lm[3] + lm[4]) / 4.0
    offset = float(np.dot(lm[2] - mid, u)) / (iod / 2.0)
    yaw = float(np.degrees(np.arctan(offset / NOSE_DEPTH)))
    return roll, yaw


def crop_visible(matrix: np.ndarray, size: int, image_shape: Sequence[int], grid: int = 24) -> float:
    """Fraction of the crop whose pixels come from inside the image (the rest is edge padding)."""
    import cv2

    inv = cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))
    c = (np.arange(grid) + 0.5) * size / grid
    xx, yy = np.meshgrid(c, c)
    src = transform_points(inv, np.stack([xx.ravel(), yy.ravel()], axis=1))
    h, w = int(image_shape[0]), int(image_shape[1])
    inside = (src[:, 0] >= 0) & (src[:, 0] <= w) & (src[:, 1] >= 0) & (src[:, 1] <= h)
    return float(inside.mean())


def score_face(
    image_shape: Sequence[int],
    detection: Detection,
    crop: np.ndarray,
    matrix: np.ndarray,
    settings: AlignSettings | None = None,
    previous_crop: np.ndarray | None = None,
) -> FaceQuality:
    """All scores of one face, from its detection, its aligned crop and the crop's matrix."""
    s = settings or AlignSettings(size=crop.shape[0])
    h, w = int(image_shape[0]), int(image_shape[1])
    lm = detection.landmarks
    iod = max(detection.iod, 1e-6)
    margins = np.concatenate([lm[:, 0], w - lm[:, 0], lm[:, 1], h - lm[:, 1]])
    t = template(s.preset, s.size, s.margin)
    t_iod = float(np.linalg.norm(t[1] - t[0]))
    aligned = transform_points(matrix, lm)
    residual = float(np.sqrt(((aligned - t) ** 2).sum(axis=1).mean())) / t_iod
    roll, yaw = pose_angles(lm)
    return FaceQuality(
        prob=float(detection.prob),
        sharpness=sharpness(crop, s),
        box_visible=float(detection.visible),
        landmark_margin=float(margins.min()) / iod,
        crop_visible=crop_visible(matrix, s.size, (h, w)),
        roll=roll,
        yaw=yaw,
        fit_residual=residual,
        iod_px=float(detection.iod),
        duplicate=duplicate_distance(crop, previous_crop),
    )


def normalise_sharpness(values: Iterable[float | None]) -> list[float | None]:
    """Each sharpness divided by the clip's median (None stays None): 1 is a typical frame of
    the clip, 0.2 a frame five times blurrier. Lighting and make-up differ between clips;
    within a clip, this ranks the blurred frames last."""
    vals = list(values)
    known = [v for v in vals if v is not None]
    if not known:
        return [None for _ in vals]
    med = float(np.median(known))
    if med <= 0:
        return [0.0 if v is not None else None for v in vals]
    return [None if v is None else float(v) / med for v in vals]


def apply_clip_normalisation(scores: Sequence[FaceQuality | None]) -> None:
    """Fill ``sharpness_rel`` of every face of a clip (in place)."""
    rel = normalise_sharpness(q.sharpness if q is not None else None for q in scores)
    for q, r in zip(scores, rel):
        if q is not None:
            q.sharpness_rel = r


def suggest_flags(scores: FaceQuality, thresholds: QualityThresholds | None = None) -> set[str]:
    """The deletion reasons the scores suggest (a subset of alignment_failure, incomplete,
    blur). Blur uses ``sharpness_rel`` when the clip has been normalised."""
    t = thresholds or QualityThresholds()
    q = scores
    flags: set[str] = set()
    if (
        q.prob < t.min_prob
        or abs(q.yaw) > t.max_yaw
        or abs(q.roll) > t.max_roll
        or q.fit_residual > t.max_fit_residual
    ):
        flags.add("alignment_failure")
    if (
        q.box_visible < t.min_box_visible
        or q.landmark_margin < t.min_landmark_margin
        or q.crop_visible < t.min_crop_visible
    ):
        flags.add("incomplete")
    if q.sharpness < t.blur_absolute or (
        q.sharpness_rel is not None and q.sharpness_rel < t.blur_relative
    ):
        flags.add("blur")
    return flags


def is_near_duplicate(scores: FaceQuality, thresholds: QualityThresholds | None = None) -> bool:
    t = thresholds or QualityThresholds()
    return scores.duplicate is not None and scores.duplicate < t.max_duplicate
