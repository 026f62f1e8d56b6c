"""Face alignment: a similarity transform of the five landmarks onto a template, then a crop.

A template is written once, in a *unit face frame* (the face's landmarks in a unit square, no
margin), and placed in a crop of any size and margin the way dlib's ``get_face_chip_details``
places its template (``padding``):

    crop coordinate = (margin + unit coordinate) / (1 + 2 * margin) * size

so a margin of 0.25 adds a quarter of the face frame on every side. The coordinates of each
preset at its default margin and 100 x 100 are in docs/ALIGNMENT.md (and `template()` gives them
for any size and margin).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from feasstm_gui.core.errors import FeasstmError


@dataclass(frozen=True)
class Preset:
    name: str
    #: MTCNN's five landmarks (image-left eye, image-right eye, nose tip, mouth left, mouth right)
    #: in the unit face frame.
    unit: tuple[tuple[float, float], ...]
    default_margin: float
    description: str


#: Close to Emotion-FAN's preprocessing (dlib's 5-point face chip, padding 0.25, 224 px).
#: dlib maps eye corners and the base of the nose onto its template; MTCNN gives eye centres,
#: the nose tip and mouth corners, so we place those where they sit in dlib's frame: eye centres
#: as the midpoints of dlib's 5-point eye-corner template, nose tip (point 30) and mouth corners
#: (points 48 and 54) from dlib's 68-point mean face shape (get_face_chip_details).
EMOTION_FAN = Preset(
    name="emotion_fan",
    unit=(
        (0.2273300617, 0.2213958465),
        (0.7528139680, 0.2212327963),
        (0.490127, 0.515625),
        (0.254149, 0.780233),
        (0.726104, 0.780233),
    ),
    default_margin=0.25,
    description="dlib 5-point face chip geometry with padding 0.25, as Emotion-FAN used",
)

#: The tight 5-point template of insightface's ArcFace (112 x 112), as a unit frame.
ARCFACE = Preset(
    name="arcface",
    unit=tuple(
        (x / 112.0, y / 112.0)
        for x, y in (
            (38.2946, 51.6963),
            (73.5318, 51.5014),
            (56.0252, 71.7366),
            (41.5493, 92.3655),
            (70.7299, 92.2041),
        )
    ),
    default_margin=0.0,
    description="insightface ArcFace 112x112 template (tight crop, little context)",
)

PRESETS: dict[str, Preset] = {p.name: p for p in (EMOTION_FAN, ARCFACE)}
DEFAULT_PRESET = EMOTION_FAN.name

#: Weight of each landmark in the least-squares fit. The eyes define the alignment (as in dlib's
#: face chip, where four of the five template points are eye corners): they barely move with
#: expression, so the eye centres land on the template (within a pixel on frontal faces at 100 px).
#: The nose and the mouth corners, which move when a face smiles or speaks, only pull a little, so
#: an open mouth neither tilts nor shrinks the crop.
FIT_WEIGHTS = (1.0, 1.0, 0.1, 0.05, 0.05)


@dataclass(frozen=True)
class AlignSettings:
    """Alignment parameters of a project (stored in the project and the export manifest)."""

    preset: str = DEFAULT_PRESET
    size: int = 100
    margin: float | None = None  # None: the preset's own margin

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise FeasstmError(
                f"unknown alignment preset {self.preset!r}; use one of {', '.join(PRESETS)}"
            )
        if not 16 <= int(self.size) <= 2048:
            raise FeasstmError(f"crop size {self.size} is out of range; use 16 to 2048 pixels")
        if self.margin is not None and not -0.2 <= float(self.margin) <= 2.0:
            raise FeasstmError(f"margin {self.margin} is out of range; use -0.2 to 2.0")

    @property
    def effective_margin(self) -> float:
        return PRESETS[self.preset].default_margin if self.margin is None else float(self.margin)

    def to_dict(self) -> dict[str, Any]:
        """What the store and the manifest record: includes the resolved template coordinates."""
        d = asdict(self)
        d["margin"] = self.effective_margin
        d["template"] = template(self.preset, self.size, self.margin).round(4).tolist()
        d["fit_weights"] = list(FIT_WEIGHTS)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlignSettings:
        return cls(preset=d.get("preset", DEFAULT_PRESET), size=int(d.get("size", 100)),
                   margin=d.get("margin"))


def template(preset: str = DEFAULT_PRESET, size: int = 100, margin: float | None = None) -> np.ndarray:
    """The five target points (5 x 2, pixels) of a preset in a size x size crop."""
    p = PRESETS.get(preset)
    if p is None:
        raise FeasstmError(f"unknown alignment preset {preset!r}; use one of {', '.join(PRESETS)}")
    m = p.default_margin if margin is None else float(margin)
    unit = np.asarray(p.unit, dtype=np.float64)
    return (m + unit) / (1.0 + 2.0 * m) * float(size)


def similarity_transform(
    src: np.ndarray, dst: np.ndarray, weights: Sequence[float] | None = None
) -> np.ndarray:
    """The 2 x 3 similarity (rotation, uniform scale, translation) that maps src onto dst with
    the least weighted squared error (Umeyama's closed form, no reflection)."""
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    mu_s = (w[:, None] * src).sum(axis=0)
    mu_d = (w[:, None] * dst).sum(axis=0)
    s0 = src - mu_s
    d0 = dst - mu_d
    var_s = float((w * (s0**2).sum(axis=1)).sum())
    if var_s <= 1e-12:
        raise FeasstmError("the landmarks coincide; the face cannot be aligned")
    cov = (w[:, None, None] * (d0[:, :, None] * s0[:, None, :])).sum(axis=0)  # 2x2
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    r = u @ np.diag(d) @ vt
    scale = float((sig * d).sum() / var_s)
    t = mu_d - scale * (r @ mu_s)
    return np.hstack([scale * r, t[:, None]])


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2 x 3 affine matrix to N x 2 points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    m = np.asarray(matrix, dtype=np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def align_face(
    image: np.ndarray,
    landmarks: np.ndarray,
    settings: AlignSettings | None = None,
    *,
    preset: str | None = None,
    size: int | None = None,
    margin: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned crop of a face and the 2 x 3 matrix from image to crop coordinates.

    Large reductions are anti-aliased: the region is first shrunk with area averaging, then
    warped, so a big face in a 4K frame gives the same crop as in a 720p frame (and the sharpness
    score measures the face, not aliasing). Pixels outside the image are replicated from its edge.
    """
    import cv2

    s = settings or AlignSettings()
    if preset is not None or size is not None or margin is not None:
        s = AlignSettings(
            preset=preset or s.preset,
            size=size or s.size,
            margin=margin if margin is not None else s.margin,
        )
    lm = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    if not np.all(np.isfinite(lm)):
        raise FeasstmError("the landmarks are not finite; the face cannot be aligned")
    dst = template(s.preset, s.size, s.margin)
    m = similarity_transform(lm, dst, FIT_WEIGHTS)
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    out = (int(s.size), int(s.size))
    if scale >= 0.5:
        crop = cv2.warpAffine(image, m, out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return crop, m
    # Shrink the face's region first (area averaging), then warp what is left (scale >= 0.5).
    inv = cv2.invertAffineTransform(m)
    corners = transform_points(inv, np.array([[0, 0], [out[0], 0], [0, out[1]], [out[0], out[1]]]))
    h, w = image.shape[:2]
    x0 = int(max(0, np.floor(corners[:, 0].min()) - 2))
    y0 = int(max(0, np.floor(corners[:, 1].min()) - 2))
    x1 = int(min(w, np.ceil(corners[:, 0].max()) + 3))
    y1 = int(min(h, np.ceil(corners[:, 1].max()) + 3))
    if x1 - x0 < 2 or y1 - y0 < 2:  # the crop lies outside the image: nothing to shrink
        crop = cv2.warpAffine(image, m, out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return crop, m
    f = scale * 1.5  # shrink to 1.5x the final scale, the warp does the rest
    nw = max(2, int(round((x1 - x0) * f)))
    nh = max(2, int(round((y1 - y0) * f)))
    region = cv2.resize(image[y0:y1, x0:x1], (nw, nh), interpolation=cv2.INTER_AREA)
    fx, fy = nw / (x1 - x0), nh / (y1 - y0)
    # cv2.resize maps pixel centres: x' = (x - x0 + 0.5) * fx - 0.5
    pre = np.array([[fx, 0, (0.5 - x0) * fx - 0.5], [0, fy, (0.5 - y0) * fy - 0.5], [0, 0, 1]])
    m_region = np.vstack([m, [0, 0, 1]]) @ np.linalg.inv(pre)
    crop = cv2.warpAffine(
        region, m_region[:2], out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, m


def roll_degrees(landmarks: np.ndarray) -> float:
    """Angle of the eye line, degrees (positive: the image-right eye is lower)."""
    lm = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    dx, dy = lm[1] - lm[0]
    return float(np.degrees(np.arctan2(dy, dx)))
