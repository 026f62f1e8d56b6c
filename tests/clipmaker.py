"""Synthetic video clips with known ground truth, built from the real photographs in tests/data.

There is no public film clip we may ship, so tests make their own: a camera that pans, zooms and
rolls slowly over a portrait, frames blurred on purpose, non-face images spliced in, a face cut by
the frame's edge, a cut from one person to another, and a frame with two people. Each frame's
ground truth says exactly what it shows.

    from clipmaker import make_clip           # tests/ is on sys.path (pytest pythonpath)
    path, truth = make_clip(folder / "clip.avi")
    truth[12]["blur"]      # "gaussian", "motion" or None
    truth[40]["actor"]     # True when the actor's face (obama) is in the frame

Codec: this OpenCV build writes and reads back both MJPG (.avi) and mp4v (.mp4); H.264 ('avc1')
cannot be written. MJPG (intra-frame, quality ~95) is the default: every frame decodes on its
own, so blur and landmarks are not smeared by inter-frame compression.

Other helpers: ``write_video`` (frames -> file), ``truncated_copy`` (a damaged copy of a file:
its tail cut off), ``read_frames`` (decode a whole clip).

``biden.jpg`` has one detectable face (the second person at its edge is not a detectable face),
so the two-people frames are a composite: obama2.jpg on the left, biden.jpg on the right.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).parent / "data"

#: Face centre (x, y) and side (pixels) in each photograph, measured once with MTCNN at native size.
FACES: dict[str, tuple[float, float, float]] = {
    "obama": (491.0, 253.0, 349.0),
    "obama2": (331.0, 426.0, 426.0),
    "biden": (570.0, 363.0, 393.0),
    "obama_partial_face": (13.0, 247.0, 351.0),
    "astronaut": (224.0, 117.0, 110.0),
    "camera": (226.0, 155.0, 73.0),
    "messi5": (240.0, 113.0, 38.0),
}

#: Which person each photograph shows; the actor of the standard clip is "obama".
PERSON = {
    "obama": "obama",
    "obama2": "obama",
    "obama_partial_face": "obama",
    "biden": "biden",
    "astronaut": "collins",
    "camera": "cameraman",
    "messi5": "messi",
}

Pose = tuple[float, float, float, float]  # face side (px), roll (deg), face centre x, y


@dataclass
class Shot:
    """A continuous shot: the camera moves from pose ``start`` to ``end`` over one photograph
    (``photo``: a face photo stem or a non-face image stem) or, with ``right``, over two photos
    side by side (the left one drawn with ``photo``, the right one with ``right``)."""

    name: str
    photo: str
    frames: int
    start: Pose
    end: Pose
    blur: dict[int, str] = field(default_factory=dict)  # frame within shot -> gaussian | motion
    splice: dict[int, str] = field(default_factory=dict)  # frame within shot -> non-face stem
    right: str | None = None
    right_pose: Pose | None = None


#: The standard clip (25 fps, 640 x 480, 110 frames, 4.4 s). Indices are frame numbers.
STANDARD: list[Shot] = [
    Shot("a1", "obama", 40, (150, -4.0, 300, 215), (175, 5.0, 345, 240),
         blur={10: "gaussian", 22: "motion", 33: "gaussian"}, splice={16: "coffee", 28: "chelsea"}),
    Shot("b", "biden", 20, (160, 2.0, 330, 220), (150, -2.0, 300, 230)),
    Shot("a2", "obama2", 20, (165, 0.0, 320, 230), (150, 3.0, 350, 220)),
    Shot("two", "obama2", 15, (120, 0.0, 160, 210), (125, 2.0, 170, 215),
         right="biden", right_pose=(120, 0.0, 480, 215)),
    Shot("partial", "obama_partial_face", 10, (170, 0.0, 8, 230), (175, 0.0, 12, 235)),
    Shot("nonface", "rocket", 5, (0, 0, 0, 0), (0, 0, 0, 0)),
]

ACTOR = "obama"


def _load(stem: str) -> np.ndarray:
    for sub in ("faces", "nonface"):
        for ext in (".jpg", ".png"):
            p = DATA / sub / f"{stem}{ext}"
            if p.exists():
                img = cv2.imread(str(p), cv2.IMREAD_COLOR)
                if img is None:
                    raise OSError(f"cannot read {p}")
                return img
    raise FileNotFoundError(f"no test photograph named {stem!r} in {DATA}")


def _cover(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A non-face image scaled and centre-cropped to fill the frame."""
    w, h = size
    s = max(w / img.shape[1], h / img.shape[0])
    r = cv2.resize(img, (int(np.ceil(img.shape[1] * s)), int(np.ceil(img.shape[0] * s))),
                   interpolation=cv2.INTER_AREA)
    y0 = (r.shape[0] - h) // 2
    x0 = (r.shape[1] - w) // 2
    return np.ascontiguousarray(r[y0:y0 + h, x0:x0 + w])


def render(stem: str, pose: Pose, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The photograph seen by a camera at ``pose`` (face of the given side, rolled, centred at the
    given point). Returns the frame and the 2 x 3 matrix from photo to frame coordinates."""
    img = _load(stem)
    fx, fy, fside = FACES[stem]
    side, roll, cx, cy = pose
    s = side / fside
    small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    sx, sy = small.shape[1] / img.shape[1], small.shape[0] / img.shape[0]
    pre = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
    centre = pre @ np.array([fx, fy, 1.0])
    rot = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), -roll, 1.0)
    rot[0, 2] += cx - centre[0]
    rot[1, 2] += cy - centre[1]
    frame = cv2.warpAffine(small, rot, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    matrix = (np.vstack([rot, [0, 0, 1]]) @ pre)[:2]
    return frame, matrix


def _lerp(a: Pose, b: Pose, t: float) -> Pose:
    return tuple(float(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def blur_frame(frame: np.ndarray, kind: str) -> np.ndarray:
    if kind == "gaussian":
        return cv2.GaussianBlur(frame, (0, 0), 3.5)
    if kind == "motion":
        k = np.zeros((17, 17), np.float32)
        k[8, :] = 1.0 / 17
        return cv2.filter2D(frame, -1, k)
    raise ValueError(f"unknown blur {kind!r}")


def render_clip(
    shots: list[Shot] | None = None, size: tuple[int, int] = (640, 480)
) -> tuple[list[np.ndarray], list[dict]]:
    """Frames and ground truth of a clip, without writing it."""
    shots = STANDARD if shots is None else shots
    frames: list[np.ndarray] = []
    truth: list[dict] = []
    for shot in shots:
        for k in range(shot.frames):
            t = k / max(1, shot.frames - 1)
            pose = _lerp(shot.start, shot.end, t)
            gt: dict = {
                "index": len(frames), "shot": shot.name, "cut": k == 0 and bool(frames),
                "blur": shot.blur.get(k), "splice": shot.splice.get(k), "partial": False,
                "faces": [],
            }
            if k in shot.splice:
                frame = _cover(_load(shot.splice[k]), size)
                gt["cut"] = True
            elif shot.photo not in FACES:
                frame = _cover(_load(shot.photo), size)
            elif shot.right is None:
                frame, m = render(shot.photo, pose, size)
                gt["faces"].append(_face_truth(shot.photo, m))
                gt["partial"] = shot.photo == "obama_partial_face"
            else:
                half = (size[0] // 2, size[1])
                lpose = (pose[0], pose[1], pose[2], pose[3])
                left, ml = render(shot.photo, lpose, half)
                rp = shot.right_pose or pose
                rpose = (rp[0], rp[1], rp[2] - half[0] + (pose[2] - shot.start[2]), rp[3])
                right, mr = render(shot.right, rpose, half)
                frame = np.hstack([left, right])
                mr = mr.copy()
                mr[0, 2] += half[0]
                gt["faces"] += [_face_truth(shot.photo, ml), _face_truth(shot.right, mr)]
            if k > 0 and shot.splice.get(k - 1) and not gt["splice"]:
                gt["cut"] = True  # back from a spliced image
            if gt["blur"]:
                frame = blur_frame(frame, gt["blur"])
            gt["actor"] = any(f["person"] == ACTOR for f in gt["faces"])
            frames.append(frame)
            truth.append(gt)
    return frames, truth


def _face_truth(stem: str, m: np.ndarray) -> dict:
    fx, fy, fside = FACES[stem]
    cx, cy = m @ np.array([fx, fy, 1.0])
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    return {"photo": stem, "person": PERSON[stem], "center": [float(cx), float(cy)],
            "side": float(fside * scale), "matrix": np.round(m, 6).tolist()}


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0, codec: str | None = None) -> Path:
    """Write frames (BGR, all one size) to a video file; the codec follows the suffix unless given
    (.avi: MJPG, .mp4: mp4v). Paths with any characters work (OpenCV's FFmpeg backend)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = codec or ("mp4v" if path.suffix.lower() in (".mp4", ".mov", ".m4v") else "MJPG")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {codec} video to {path}")
    if codec == "MJPG":
        writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def make_clip(
    path: Path,
    shots: list[Shot] | None = None,
    size: tuple[int, int] = (640, 480),
    fps: float = 25.0,
    codec: str | None = None,
    truth_json: bool = False,
) -> tuple[Path, list[dict]]:
    """Write the (standard) clip to ``path`` and return (path, ground truth per frame).

    Ground truth per frame: index, shot, cut (a new shot starts here), blur (None, "gaussian",
    "motion"), splice (the non-face image shown instead, or None), partial (the face is cut by the
    frame's edge), faces (photo, person, centre, side, photo->frame matrix), actor (obama visible).
    With ``truth_json`` the truth is also written beside the clip as ``<name>.truth.json``.
    """
    frames, truth = render_clip(shots, size)
    write_video(Path(path), frames, fps, codec)
    if truth_json:
        Path(path).with_suffix(".truth.json").write_text(json.dumps(truth, indent=1), "utf-8")
    return Path(path), truth


def read_frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def truncated_copy(src: Path, dst: Path, keep: float = 0.6) -> Path:
    """A copy of a file with its tail cut off (keep: fraction of bytes kept): a damaged video."""
    data = Path(src).read_bytes()
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    Path(dst).write_bytes(data[: int(len(data) * keep)])
    return Path(dst)


def copy_photo(stem: str, dst: Path) -> Path:
    for sub in ("faces", "nonface"):
        for ext in (".jpg", ".png"):
            p = DATA / sub / f"{stem}{ext}"
            if p.exists():
                return Path(shutil.copyfile(p, dst))
    raise FileNotFoundError(stem)
