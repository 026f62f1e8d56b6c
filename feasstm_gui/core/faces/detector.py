"""Face detection with facenet-pytorch's MTCNN: boxes, probabilities and five landmarks.

torch is imported lazily (inside functions): importing this module costs nothing, so the rest of
the core and the CLI start fast. The networks are built once per device and shared.

Two ways to detect:

- full frame: facenet-pytorch's own cascade (``detect_face``), exactly what ``MTCNN.detect`` does;
- region (``roi``): the same cascade restricted to a window of the frame. The image pyramid is
  the full frame's pyramid (same scales, same pooling bins), computed only inside the window and
  only for the pyramid levels that can hold a face of the expected size. A face well inside the
  window therefore gets the *same* box, probability and landmarks as a full-frame detection
  (bit for bit on the CPU in our tests), at a fraction of the cost. That is what lets the tracker
  detect on a region around the last face without moving the landmarks.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.project_settings import StoredSettings

#: MTCNN's landmark order: image-left eye, image-right eye, nose tip, mouth left, mouth right.
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class DetectorSettings(StoredSettings):
    """Detection parameters of a project (stored in the project and the export manifest)."""

    min_face_size: float = 20.0
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    factor: float = 0.709
    #: detections below this probability are dropped (MTCNN keeps anything above thresholds[2]).
    min_prob: float = 0.90
    #: detections whose box has less than this fraction of its area inside the image are dropped.
    min_visible: float = 0.5
    device: str = "auto"  # "auto" (cuda when available), "cpu", "cuda", "cuda:1", ...
    #: torch's CPU thread count for whole-frame detections, fixed so results do not depend on
    #: the machine's load.
    num_threads: int = 2
    #: torch's CPU thread count for detections in a region (the tracker's usual case): its small
    #: tensors gain little from a second thread, which is better left to decoding and JPEG
    #: writing, done meanwhile on other threads.
    region_threads: int = 1
    #: what runs the networks of region detections on the CPU: "onnx" (ONNX Runtime on the
    #: networks exported from facenet-pytorch's weights, `mtcnn_onnx.py`: the same outputs to
    #: 1e-6, less overhead on small tensors) or "torch". Whole-frame detections (and CUDA) always
    #: run facenet-pytorch's own code on torch.
    runtime: str = "onnx"


@dataclass
class Detection:
    """One face: box clipped to the image, MTCNN's box as found, probability, five landmarks."""

    box: Box
    prob: float
    landmarks: np.ndarray  # (5, 2) float64, LANDMARK_NAMES order, may lie outside the image
    raw_box: Box | None = None  # MTCNN's box before clipping (may extend past the image)
    visible: float = 1.0  # fraction of raw_box's area inside the image
    source: str = "full"  # "full", "roi", "box" (landmarks inside a manual box), "manual"
    #: the square box MTCNN's last stage (ONet) ran on (its R-net stage's output), when known:
    #: what `FaceDetector.confirm` needs to find the face again on the next frame. Not stored.
    net_box: Box | None = None

    def __post_init__(self) -> None:
        self.box = tuple(float(v) for v in self.box)  # type: ignore[assignment]
        self.landmarks = np.asarray(self.landmarks, dtype=np.float64).reshape(5, 2)
        if self.raw_box is None:
            self.raw_box = self.box
        self.raw_box = tuple(float(v) for v in self.raw_box)  # type: ignore[assignment]
        self.prob = float(self.prob)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    @property
    def size(self) -> float:
        """Side of MTCNN's (unclipped) box: the face's scale in pixels."""
        b = self.raw_box
        return float(max(b[2] - b[0], b[3] - b[1]))

    @property
    def center(self) -> tuple[float, float]:
        b = self.raw_box
        return ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)

    @property
    def iod(self) -> float:
        """Inter-ocular distance (between the two eye landmarks), in pixels."""
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    def to_dict(self, ndigits: int = 3) -> dict[str, Any]:
        """JSON-friendly form (rounded: what the store and the tracker state keep)."""
        r = lambda v: round(float(v), ndigits)  # noqa: E731
        return {
            "box": [r(v) for v in self.box],
            "raw_box": [r(v) for v in self.raw_box],
            "prob": round(self.prob, 6),
            "landmarks": [[r(x), r(y)] for x, y in self.landmarks],
            "visible": round(self.visible, 4),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Detection:
        return cls(
            box=tuple(d["box"]),
            prob=d["prob"],
            landmarks=np.asarray(d["landmarks"], dtype=np.float64),
            raw_box=tuple(d.get("raw_box") or d["box"]),
            visible=d.get("visible", 1.0),
            source=d.get("source", "full"),
        )

    @classmethod
    def from_landmarks(
        cls, landmarks: Sequence[Sequence[float]], image_shape: Sequence[int]
    ) -> Detection:
        """A face given by hand: five landmarks (the user's clicks), no detector involved."""
        pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
        iod = float(np.linalg.norm(pts[1] - pts[0])) or 1.0
        cx, cy = pts.mean(axis=0)
        # about where MTCNN puts its box around such landmarks: brows to chin, ear to ear
        raw = (cx - 1.1 * iod, cy - 1.3 * iod, cx + 1.1 * iod, cy + 0.9 * iod)
        h, w = int(image_shape[0]), int(image_shape[1])
        return cls(
            box=clip_box(raw, w, h),
            prob=1.0,
            landmarks=pts,
            raw_box=raw,
            visible=visible_fraction(raw, w, h),
            source="manual",
        )


def clip_box(box: Sequence[float], width: int, height: int) -> Box:
    x1, y1, x2, y2 = (float(v) for v in box)
    return (
        min(max(x1, 0.0), float(width)),
        min(max(y1, 0.0), float(height)),
        min(max(x2, 0.0), float(width)),
        min(max(y2, 0.0), float(height)),
    )


def visible_fraction(box: Sequence[float], width: int, height: int) -> float:
    """Fraction of a box's area that lies inside a width x height image."""
    x1, y1, x2, y2 = (float(v) for v in box)
    area = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    if area <= 0:
        return 0.0
    cx1, cy1, cx2, cy2 = clip_box(box, width, height)
    return max(0.0, cx2 - cx1) * max(0.0, cy2 - cy1) / area


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def order_faces(detections: Sequence[Detection], order: str = "size") -> list[Detection]:
    """Faces in a user-visible order, so "face 2" means the same face every time.

    ``size``: largest first; ``left``: left to right; ``prob``: most probable first.
    """
    if order == "size":
        key = lambda d: (-d.area, -d.prob, d.box[0])  # noqa: E731
    elif order == "left":
        key = lambda d: (d.center[0], d.center[1])  # noqa: E731
    elif order == "prob":
        key = lambda d: (-d.prob, -d.area)  # noqa: E731
    else:
        raise FeasstmError(f"unknown face order {order!r}; use 'size', 'left' or 'prob'")
    return sorted(detections, key=key)


# --------------------------------------------------------------------------- networks

_NETS: dict[str, Any] = {}
_NETS_LOCK = threading.Lock()


def resolve_device(device: str = "auto") -> str:
    """'auto' means the first CUDA device when torch sees one, else the CPU."""
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise FeasstmError(
            f"device {device!r} was asked for, but torch sees no CUDA device; use 'cpu' or 'auto'"
        )
    return device


def _mtcnn(device: str):
    """facenet-pytorch's MTCNN (its weights ship inside the package), one per device."""
    with _NETS_LOCK:
        net = _NETS.get(device)
        if net is None:
            import torch
            from facenet_pytorch import MTCNN

            net = MTCNN(device=torch.device(device))
            net.eval()
            _NETS[device] = net
        return net


def _set_threads(n: int) -> None:
    import torch

    if n and torch.get_num_threads() != n:
        torch.set_num_threads(n)


def pyramid_scales(height: int, width: int, min_face_size: float, factor: float) -> list[float]:
    """MTCNN's image pyramid for a frame, computed exactly as facenet-pytorch does."""
    m = 12.0 / min_face_size
    minl = min(height, width) * m
    scale = m
    scales = []
    while minl >= 12:
        scales.append(scale)
        scale = scale * factor
        minl = minl * factor
    return scales


# --------------------------------------------------------------------------- detector


class FaceDetector:
    """MTCNN detection with a project's settings; cheap to create (networks are shared)."""

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.device = resolve_device(self.settings.device)
        _set_threads(self.settings.num_threads)
        self._net = _mtcnn(self.device)
        if self.settings.runtime not in ("onnx", "torch"):
            raise FeasstmError(f"unknown detector runtime {self.settings.runtime!r}; "
                               "use 'onnx' or 'torch'")
        self._onnx = self.settings.runtime == "onnx" and self.device == "cpu"
        if self.device.startswith("cuda"):
            import torch

            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False

    # -- public API

    def detect(
        self,
        image: np.ndarray,
        *,
        bgr: bool = True,
        roi: Sequence[float] | None = None,
        face_size: tuple[float, float] | None = None,
        min_face_size: float | None = None,
        thresholds: Sequence[float] | None = None,
        min_prob: float | None = None,
    ) -> list[Detection]:
        """Faces in an image (H x W x 3 uint8, BGR as OpenCV reads it unless ``bgr=False``).

        ``roi`` (x1, y1, x2, y2) restricts the search to a window, and ``face_size`` (smallest,
        largest side in pixels) to the pyramid levels that can find such faces; a face found there
        has the same box and landmarks as in a full-frame detection with the same settings.
        Detections are ordered largest first.
        """
        s = self.settings
        img = _check_image(image)
        h, w = img.shape[:2]
        mfs = float(min_face_size or s.min_face_size)
        thr = tuple(float(t) for t in (thresholds or s.thresholds))
        whole = roi is None and face_size is None
        _set_threads(s.num_threads if whole or s.device != "cpu" else s.region_threads)
        if whole:
            boxes, points = self._full(_as_rgb(img, bgr), mfs, thr)
            source = "full"
        else:
            # only the window is read (and turned to RGB), never the whole frame
            win = (0.0, 0.0, float(w), float(h)) if roi is None else tuple(float(v) for v in roi)
            boxes, points, net_boxes = self._cascade(_Frame(img, bgr), win, mfs, thr, face_size)
            source = "roi"
        dets = self._to_detections(boxes, points, w, h, source,
                                   None if whole else net_boxes)
        floor = s.min_prob if min_prob is None else min_prob
        dets = [d for d in dets if d.prob >= floor and d.visible >= s.min_visible]
        if roi is not None:
            x1, y1, x2, y2 = roi
            dets = [d for d in dets if x1 <= d.center[0] <= x2 and y1 <= d.center[1] <= y2]
        return order_faces(dets, "size")

    def detect_batch(self, images: Sequence[np.ndarray], *, bgr: bool = True
                     ) -> list[list[Detection]]:
        """Whole-frame detections (all sizes) of several frames of the same size at once, each
        as `detect(image)` gives it: facenet-pytorch's cascade runs on the batch (one P-net pass
        per pyramid level for all frames, one R- and O-net pass for all their candidates), which
        keeps a GPU busy where frames one at a time would not."""
        s = self.settings
        if not images:
            return []
        imgs = [_check_image(im) for im in images]
        h, w = imgs[0].shape[:2]
        if any(im.shape[:2] != (h, w) for im in imgs):
            raise FeasstmError("frames detected together must have the same size")
        _set_threads(s.num_threads)
        batch = np.stack([_as_rgb(im, bgr) for im in imgs])
        out = []
        for boxes, points in self._full_batch(batch, float(s.min_face_size),
                                              tuple(float(t) for t in s.thresholds)):
            dets = self._to_detections(boxes, points, w, h, "full")
            dets = [d for d in dets if d.prob >= s.min_prob and d.visible >= s.min_visible]
            out.append(order_faces(dets, "size"))
        return out

    def confirm(self, image: np.ndarray, net_box: Sequence[float], *, bgr: bool = True,
                min_prob: float | None = None) -> Detection | None:
        """MTCNN's last stage (ONet) alone on one square box: the face's probability, box and
        landmarks, computed exactly as the cascade computes them for a box its R-net stage
        gave (the same crop resampling, float32 arithmetic and box regression), or None when
        ONet's score is below the settings' last threshold or ``min_prob`` (default the
        settings' `min_prob`), or the face is less visible than `min_visible`.

        The tracker's fast path: on the next frame of a shot, the box where the face's last
        landmarks put ONet's input costs one small network (about a tenth of a region search).
        Landmarks from a box other than the one MTCNN's R-net stage would give differ slightly
        (docs/ALIGNMENT.md measures how much)."""
        s = self.settings
        img = _Frame(_check_image(image), bgr)
        h, w = img.shape[:2]
        b = np.asarray(net_box, dtype=np.float32).reshape(1, 4)
        if not np.isfinite(b).all() or b[0, 2] - b[0, 0] < 4 or b[0, 3] - b[0, 1] < 4:
            return None
        _set_threads(s.num_threads if s.device != "cpu" else s.region_threads)
        data = _crops_np(img, *_pad(b, w, h), 48)
        if data is None:
            return None
        out = self._forward_np("onet", data)
        reg, pts, prob = (np.asarray(o, dtype=np.float32) for o in out)
        score = float(prob[0, 1])
        if not (score > s.thresholds[2] and score >= (s.min_prob if min_prob is None else min_prob)):
            return None  # as the cascade keeps (> the threshold) and `detect` filters (>=)
        lm = _onet_landmarks(b, pts)[0]
        raw = tuple(float(v) for v in _bbreg(b, reg)[0, :4])
        if not all(math.isfinite(v) for v in raw) or raw[2] <= raw[0] or raw[3] <= raw[1]:
            return None
        det = Detection(box=clip_box(raw, w, h), prob=score, landmarks=lm.astype(np.float64),
                        raw_box=raw, visible=visible_fraction(raw, w, h), source="roi",
                        net_box=tuple(float(v) for v in b[0]))
        return det if det.visible >= s.min_visible else None

    def detect_in_box(
        self,
        image: np.ndarray,
        box: Sequence[float],
        *,
        bgr: bool = True,
        thresholds: Sequence[float] | None = None,
    ) -> Detection | None:
        """The face inside a box the user drew: MTCNN on that region, else landmarks from MTCNN's
        last stage (ONet) run directly on the box. None only for an empty box."""
        img = _Frame(_check_image(image), bgr)
        h, w = img.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box)
        side = max(x2 - x1, y2 - y1)
        if side < 4 or x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
            return None
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        roi = (cx - side, cy - side, cx + side, cy + side)
        thr = tuple(thresholds) if thresholds else (0.5, 0.5, 0.5)
        mfs = min(self.settings.min_face_size, max(12.0, 0.4 * side))
        boxes, points, _ = self._cascade(img, roi, mfs, thr, (0.4 * side, 3.0 * side))
        dets = self._to_detections(boxes, points, w, h, "box")
        dets = [d for d in dets if box_iou(d.raw_box, (x1, y1, x2, y2)) >= 0.3]
        if dets:
            return max(dets, key=lambda d: (box_iou(d.raw_box, (x1, y1, x2, y2)), d.prob))
        return self._onet_on_box(img, (x1, y1, x2, y2))

    # -- full frame: facenet-pytorch's cascade as is

    def _full(self, img: np.ndarray, mfs: float, thr: tuple[float, ...]):
        import torch
        from facenet_pytorch.models.utils.detect_face import detect_face

        net = self._net
        if not pyramid_scales(img.shape[0], img.shape[1], mfs, self.settings.factor):
            return np.zeros((0, 5)), np.zeros((0, 5, 2))  # faces that big cannot fit the image
        with torch.no_grad():
            boxes, points = detect_face(
                img, mfs, net.pnet, net.rnet, net.onet, list(thr), self.settings.factor,
                net.device,
            )
        return np.asarray(boxes[0], dtype=np.float64), np.asarray(points[0], dtype=np.float64)

    def _full_batch(self, imgs: np.ndarray, mfs: float, thr: tuple[float, ...]):
        """facenet-pytorch's cascade on N x H x W x 3 RGB frames: [(boxes, points)] per frame."""
        import torch
        from facenet_pytorch.models.utils.detect_face import detect_face

        net = self._net
        n = len(imgs)
        if not pyramid_scales(imgs.shape[1], imgs.shape[2], mfs, self.settings.factor):
            return [(np.zeros((0, 5)), np.zeros((0, 5, 2)))] * n
        with torch.no_grad():
            boxes, points = detect_face(
                imgs, mfs, net.pnet, net.rnet, net.onet, list(thr), self.settings.factor,
                net.device,
            )
        return [(np.asarray(b, dtype=np.float64).reshape(-1, 5),
                 np.asarray(p, dtype=np.float64).reshape(-1, 5, 2))
                for b, p in zip(boxes, points)]

    # -- region: the same cascade on the full frame's pyramid, computed inside a window only

    def _cascade(self, img, roi, mfs, thr, face_size):
        """facenet-pytorch's three stages on the window, in numpy float32 with the same
        operations in the same order as its torch code (proposals, NMS, box regression,
        squaring, padding), so the boxes and landmarks are the full frame's; the networks run on
        ONNX Runtime or torch (`_forward_np`). Returns (boxes N x 5, landmarks N x 5 x 2, the
        boxes ONet ran on N x 4)."""
        from facenet_pytorch.models.utils.detect_face import nms_numpy

        h, w = img.shape[:2]
        x0 = max(0, int(math.floor(roi[0])))
        y0 = max(0, int(math.floor(roi[1])))
        x1 = min(w, int(math.ceil(roi[2])))
        y1 = min(h, int(math.ceil(roi[3])))
        empty = np.zeros((0, 5)), np.zeros((0, 5, 2)), np.zeros((0, 4))
        if x1 - x0 < 12 or y1 - y0 < 12:
            return empty
        img.integral(y0, y1, x0, x1)  # the window once; later requests reuse it
        scales = pyramid_scales(h, w, mfs, self.settings.factor)
        if face_size is not None:
            lo, hi = face_size
            scales = [sc for sc in scales if lo <= 12.0 / sc <= hi]
        levels = []
        for sc in scales:
            level = _pyramid_window(img, h, w, sc, x0, y0, x1, y1)
            if level is not None:
                levels.append((sc, *level))
        if not levels:
            return empty
        f32 = np.float32
        # first stage (PNet) once, on all pyramid windows side by side
        canvas, places = _canvas([lv[1] for lv in levels])
        x = canvas.transpose(2, 0, 1)[None]
        reg_all, probs_all = self._forward_np("pnet", (x - f32(127.5)) * f32(0.0078125))
        found = []
        for (sc, _, r0, c0), (col, rows, cols) in zip(levels, places):
            reg = reg_all[0, :, :rows, col : col + cols]
            probs = probs_all[0, 1, :rows, col : col + cols]
            b = _proposals(reg, probs, sc, thr[0], c0 // 2, r0 // 2)
            if len(b):
                found.append(b[_nms(b[:, :4], b[:, 4], 0.5)])
        if not found:
            return empty
        boxes = np.concatenate(found, axis=0)
        boxes = boxes[_nms(boxes[:, :4], boxes[:, 4], 0.7)]
        regw = boxes[:, 2] - boxes[:, 0]
        regh = boxes[:, 3] - boxes[:, 1]
        boxes = np.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                          boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh,
                          boxes[:, 4]], axis=1)
        boxes = _rerec(boxes)

        # second stage (RNet) on 24 x 24 crops of the full-resolution frame
        data = _crops_np(img, *_pad(boxes, w, h), 24)
        if data is None:
            return empty
        reg, prob = self._forward_np("rnet", data)
        score = prob[:, 1]
        ipass = score > thr[1]
        boxes = np.concatenate([boxes[ipass, :4], score[ipass, None]], axis=1)
        mv = reg[ipass]
        pick = _nms(boxes[:, :4], boxes[:, 4], 0.7)
        boxes = _rerec(_bbreg(boxes[pick], mv[pick]))
        if len(boxes) == 0:
            return empty

        # third stage (ONet) on 48 x 48 crops: final boxes, probabilities, landmarks
        data = _crops_np(img, *_pad(boxes, w, h), 48)
        if data is None:
            return empty
        reg, points, prob = self._forward_np("onet", data)
        score = prob[:, 1]
        ipass = score > thr[2]
        net_boxes = boxes[ipass, :4].copy()  # what ONet ran on, for `confirm`
        boxes = np.concatenate([boxes[ipass, :4], score[ipass, None]], axis=1)
        points = _onet_landmarks(boxes, points[ipass])
        boxes = _bbreg(boxes, reg[ipass])
        pick = nms_numpy(boxes[:, :4] + f32(0), boxes[:, 4], 0.7, "Min") if len(boxes) else []
        pick = np.asarray(pick, dtype=np.int64)
        return (
            boxes[pick].astype(np.float64).reshape(-1, 5),
            points[pick].astype(np.float64).reshape(-1, 5, 2),
            net_boxes[pick].astype(np.float64).reshape(-1, 4),
        )

    def _forward_np(self, name: str, x: np.ndarray) -> list[np.ndarray]:
        """One of the cascade's networks on a normalised numpy batch, numpy out: ONNX Runtime (on
        the CPU, the default) or facenet-pytorch's torch module."""
        if self._onnx:
            from feasstm_gui.core.faces import mtcnn_onnx

            return mtcnn_onnx.run(name, x, self.settings.region_threads)
        import torch
        from facenet_pytorch.models.utils.detect_face import fixed_batch_process

        net = getattr(self._net, name)
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self._net.device)
            outs = net(t) if name == "pnet" else fixed_batch_process(t, net)
            return [o.cpu().numpy() for o in outs]

    def _onet_on_box(self, img: _Frame, box: Box) -> Detection:
        """Landmarks from MTCNN's last stage on a given (square-ised) box; the probability is
        ONet's face score, which can be low: the user asserted there is a face."""
        import torch
        from facenet_pytorch.models.utils.detect_face import pad, rerec

        h, w = img.shape[:2]
        net = self._net
        b = torch.tensor([[*box, 1.0]], dtype=torch.float32, device=net.device)
        b = rerec(b)
        y, ey, x, ex = pad(b, w, h)
        with torch.no_grad():
            data = _crops(img, y, ey, x, ex, 48, net.device)
            _, pts, prob = net.onet(data)
        bx = b[0].cpu().numpy().astype(np.float64)
        bw, bh = bx[2] - bx[0] + 1, bx[3] - bx[1] + 1
        p = pts[0].cpu().numpy().astype(np.float64)
        lm = np.stack([bw * p[:5] + bx[0] - 1, bh * p[5:10] + bx[1] - 1], axis=1)
        raw = tuple(float(v) for v in box)
        return Detection(
            box=clip_box(raw, w, h),
            prob=float(prob[0, 1]),
            landmarks=lm,
            raw_box=raw,
            visible=visible_fraction(raw, w, h),
            source="box",
        )

    @staticmethod
    def _to_detections(boxes, points, w, h, source, net_boxes=None) -> list[Detection]:
        dets = []
        for k, (b, p) in enumerate(zip(boxes, points)):
            raw = tuple(float(v) for v in b[:4])
            if not all(math.isfinite(v) for v in raw) or raw[2] <= raw[0] or raw[3] <= raw[1]:
                continue
            dets.append(
                Detection(
                    box=clip_box(raw, w, h),
                    prob=float(b[4]),
                    landmarks=np.asarray(p, dtype=np.float64),
                    raw_box=raw,
                    visible=visible_fraction(raw, w, h),
                    source=source,
                    net_box=(None if net_boxes is None
                             else tuple(float(v) for v in net_boxes[k][:4])),
                )
            )
        return dets


# --------------------------------------------------------------------------- helpers


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise FeasstmError("a face image must be a uint8 numpy array (H x W x 3)")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise FeasstmError(f"a face image must be H x W x 3, not {image.shape}")
    return image


def _as_rgb(image: np.ndarray, bgr: bool) -> np.ndarray:
    image = image[:, :, :3]
    if bgr:
        image = image[:, :, ::-1]
    return np.ascontiguousarray(image)


class _Frame:
    """A frame read region by region: integral images of the regions the cascade needs (in the
    frame's own channel order; RGB order is restored on the small pooled results), so a 720p frame
    is never converted or copied as a whole."""

    def __init__(self, image: np.ndarray, bgr: bool) -> None:
        self.image = image[:, :, :3]
        self.bgr = bgr
        self.shape = image.shape
        self._cache: tuple[np.ndarray, int, int, int, int] | None = None

    def integral(self, y0: int, y1: int, x0: int, x1: int) -> tuple[np.ndarray, int, int]:
        """(integral image, its top row, its left column) covering at least the region."""
        c = self._cache
        if c is not None and c[1] <= y0 and c[2] <= x0 and y1 <= c[3] and x1 <= c[4]:
            return c[0], c[1], c[2]
        if c is not None:  # grow to the union, so later requests hit the cache
            y0, x0, y1, x1 = min(y0, c[1]), min(x0, c[2]), max(y1, c[3]), max(x1, c[4])
        ii = _integral_of(self.image[y0:y1, x0:x1])
        self._cache = (ii, y0, x0, y1, x1)
        return ii, y0, x0

    def to_rgb(self, pooled: np.ndarray) -> np.ndarray:
        """Channels of a pooled array (last axis) in RGB order."""
        return np.ascontiguousarray(pooled[..., ::-1]) if self.bgr else pooled


def _integral_of(window: np.ndarray) -> np.ndarray:
    """Integral image, exact: int32 while the sums fit (about 8 megapixels), else float64."""
    import cv2

    depth = cv2.CV_32S if window.shape[0] * window.shape[1] < 8_000_000 else cv2.CV_64F
    if window.strides[2] != window.itemsize or window.strides[1] != 3 * window.itemsize:
        window = np.ascontiguousarray(window)  # OpenCV needs packed pixels (rows may be strided)
    return cv2.integral(window, sdepth=depth)


def _pyramid_window(frame: _Frame, h, w, scale, x0, y0, x1, y1):
    """The part of the frame's pyramid level ``scale`` whose pooling bins lie inside the window.

    torch's area interpolation (adaptive average pooling) averages input rows
    [floor(i*H/oh), ceil((i+1)*H/oh)); we sum the same bins from an integral image and divide the
    same way (by the bin height, then its width, in float32), which reproduces torch's values.
    Returns (H' x W' x 3 float32, first row, first column) with even first row/column so that
    PNet's stride-2 grid matches the full frame's; None when the window is too small.
    """
    oh, ow = int(h * scale + 1), int(w * scale + 1)
    r0 = -((-y0 * oh) // h)
    c0 = -((-x0 * ow) // w)
    r0 += r0 % 2
    c0 += c0 % 2
    r1 = min(oh, (y1 * oh) // h + 1)
    c1 = min(ow, (x1 * ow) // w + 1)
    while r1 > r0 and -((-r1 * h) // oh) > y1:
        r1 -= 1
    while c1 > c0 and -((-c1 * w) // ow) > x1:
        c1 -= 1
    if r1 - r0 < 12 or c1 - c0 < 12:
        return None
    rows = np.arange(r0, r1, dtype=np.int64)
    cols = np.arange(c0, c1, dtype=np.int64)
    ii, oy, ox = frame.integral(
        int((r0 * h) // oh), int(-((-r1 * h) // oh)), int((c0 * w) // ow), int(-((-c1 * w) // ow))
    )
    ys = (rows * h) // oh - oy
    ye = -((-(rows + 1) * h) // oh) - oy
    xs = (cols * w) // ow - ox
    xe = -((-(cols + 1) * w) // ow) - ox
    total = _box_sums(ii, ys[:, None], ye[:, None], xs[None, :], xe[None, :])
    kh = (ye - ys).astype(np.float32)[:, None, None]
    kw = (xe - xs).astype(np.float32)[None, :, None]
    pooled = total.astype(np.float32) / kh / kw
    return frame.to_rgb(pooled), int(r0), int(c0)


def _box_sums(ii: np.ndarray, ys, ye, xs, xe) -> np.ndarray:
    """Sums of the boxes [ys, ye) x [xs, xe) (broadcast index arrays) from an integral image,
    per channel; exact (integers). np.take on flat indices is several times faster than 2-D
    fancy indexing."""
    width = ii.shape[1]
    flat = ii.reshape(-1, ii.shape[2])
    ys, ye = ys * width, ye * width
    return (
        np.take(flat, ye + xe, axis=0)
        - np.take(flat, ys + xe, axis=0)
        - np.take(flat, ye + xs, axis=0)
        + np.take(flat, ys + xs, axis=0)
    )


def _canvas(windows: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Pyramid windows side by side in one image, so PNet (fully convolutional, 12 x 12 receptive
    field, stride 2) runs once for all levels. Each window starts at an even column; for each,
    returns (first output column, output rows, output columns) of the outputs whose receptive
    field lies wholly inside that window (the only ones used)."""
    height = max(wd.shape[0] for wd in windows)
    width = sum(wd.shape[1] + (wd.shape[1] % 2) for wd in windows)
    canvas = np.full((height, width, 3), 127.5, dtype=np.float32)
    places = []
    x = 0
    for wd in windows:
        hh, ww = wd.shape[:2]
        canvas[:hh, x : x + ww] = wd
        places.append((x // 2, (hh - 12) // 2 + 1, (ww - 12) // 2 + 1))
        x += ww + (ww % 2)
    return canvas, places


def _proposals(reg, probs, scale, thresh, col_offset, row_offset):
    """PNet's candidate boxes in frame coordinates, N x 9 float32 (x1, y1, x2, y2, score, four
    offsets): facenet-pytorch's generateBoundingBox with the window's offset on PNet's output grid
    added before rounding, as the full frame would. ``reg`` is 4 x rows x cols, ``probs`` rows x
    cols."""
    f32 = np.float32
    rows, cols = np.nonzero(probs >= thresh)  # row-major, as torch's nonzero
    bb = np.stack([cols, rows], axis=1).astype(f32) + np.array([col_offset, row_offset], f32)
    scale = f32(scale)
    q1 = np.floor((f32(2) * bb + f32(1)) / scale)
    q2 = np.floor((f32(2) * bb + f32(12) - f32(1) + f32(1)) / scale)
    return np.concatenate([q1, q2, probs[rows, cols][:, None], reg[:, rows, cols].T], axis=1)


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """torchvision's `nms` (its CPU kernel) in numpy: indices of the boxes kept, highest score
    first; a box is dropped when its overlap (IoU, areas without the +1) with a kept box of a
    higher score exceeds ``threshold``. Ties keep their order (a stable sort, as torchvision's).
    Up to `NMS_MATRIX` boxes the overlaps are computed all at once, beyond that one kept box at a
    time (the same values either way)."""
    n = len(boxes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    b = boxes[order, :4]
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    zero = np.float32(0)

    def overlaps(i, rest):  # as the C++ kernel: float32 IoU, compared with a double threshold
        ww = np.maximum(zero, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        hh = np.maximum(zero, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = ww * hh
        with np.errstate(invalid="ignore", divide="ignore"):  # two empty boxes: 0/0, kept
            return (inter / (areas[i] + areas[rest] - inter)).astype(np.float64) > threshold

    suppressed = np.zeros(n, dtype=bool)
    keep = []
    if n <= NMS_MATRIX:
        over = overlaps(np.arange(n)[:, None], np.arange(n)[None, :])
        for k in range(n):
            if not suppressed[k]:
                keep.append(k)
                suppressed |= over[k]  # marks boxes already decided too: they are not visited
    else:
        for k in range(n):
            if not suppressed[k]:
                keep.append(k)
                rest = np.arange(k + 1, n)
                suppressed[rest[overlaps(k, rest)]] = True
    return order[np.asarray(keep, dtype=np.int64)]


#: at most this many boxes have their overlaps computed as one matrix in `_nms`
NMS_MATRIX = 256


def _bbreg(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """facenet-pytorch's bbreg: the boxes moved by the network's offsets (a new array)."""
    one = np.float32(1)
    w = boxes[:, 2] - boxes[:, 0] + one
    h = boxes[:, 3] - boxes[:, 1] + one
    out = boxes.copy()
    out[:, 0] = boxes[:, 0] + reg[:, 0] * w
    out[:, 1] = boxes[:, 1] + reg[:, 1] * h
    out[:, 2] = boxes[:, 2] + reg[:, 2] * w
    out[:, 3] = boxes[:, 3] + reg[:, 3] * h
    return out


def _onet_landmarks(boxes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """ONet's five landmarks (N x 10: five x, then five y, relative to its input box) in frame
    coordinates, N x 5 x 2, float32 as facenet-pytorch computes them."""
    one = np.float32(1)
    w = (boxes[:, 2] - boxes[:, 0] + one)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + one)[:, None]
    return np.stack([w * points[:, :5] + boxes[:, 0:1] - one,
                     h * points[:, 5:10] + boxes[:, 1:2] - one], axis=2)


def _rerec(boxes: np.ndarray) -> np.ndarray:
    """facenet-pytorch's rerec: each box made square on its longer side, same centre (in place,
    returned)."""
    half = np.float32(0.5)
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    side = np.maximum(w, h)
    boxes[:, 0] = boxes[:, 0] + w * half - side * half
    boxes[:, 1] = boxes[:, 1] + h * half - side * half
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _pad(boxes: np.ndarray, w: int, h: int):
    """facenet-pytorch's pad: (y, ey, x, ex), truncated to integers and clipped to [1, w] x
    [1, h]."""
    b = np.trunc(boxes[:, :4]).astype(np.int32)
    x, y, ex, ey = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    return np.maximum(y, 1), np.minimum(ey, h), np.maximum(x, 1), np.minimum(ex, w)


def _crops(img, y, ey, x, ex, size, device):
    """Crops of the frame resampled to size x size exactly as facenet-pytorch's area resampling
    does (same bins, same float32 division; see _pyramid_window), normalised for the network."""
    import torch

    data = _crops_np(img, y, ey, x, ex, size)
    return None if data is None else torch.from_numpy(data).to(device)


def _crops_np(img, y, ey, x, ex, size):
    """`_crops` as a numpy N x 3 x size x size float32 array."""
    y, ey, x, ex = (np.asarray(v, dtype=np.int64).reshape(-1) for v in (y, ey, x, ex))
    keep = (ey > y - 1) & (ex > x - 1)  # facenet-pytorch skips empty crops (one test, no loop)
    if not keep.any():
        return None
    top, bottom, left, right = y[keep] - 1, ey[keep], x[keep] - 1, ex[keep]
    oy, ox = int(top.min()), int(left.min())
    ii, oy, ox = img.integral(oy, int(bottom.max()), ox, int(right.max()))
    idx = np.arange(size, dtype=np.int64)[None, :]
    hc = (bottom - top)[:, None]
    wc = (right - left)[:, None]
    ys = (idx * hc) // size + (top - oy)[:, None]
    ye = -((-(idx + 1) * hc) // size) + (top - oy)[:, None]
    xs = (idx * wc) // size + (left - ox)[:, None]
    xe = -((-(idx + 1) * wc) // size) + (left - ox)[:, None]
    total = _box_sums(ii, ys[:, :, None], ye[:, :, None], xs[:, None, :], xe[:, None, :])
    kh = (ye - ys).astype(np.float32)[:, :, None, None]
    kw = (xe - xs).astype(np.float32)[:, None, :, None]
    pooled = img.to_rgb(total.astype(np.float32) / kh / kw)
    data = np.ascontiguousarray(pooled.transpose(0, 3, 1, 2))
    return (data - np.float32(127.5)) * np.float32(0.0078125)


# --------------------------------------------------------------------------- module-level API

_DETECTORS: dict[DetectorSettings, FaceDetector] = {}


def get_detector(settings: DetectorSettings | None = None) -> FaceDetector:
    """A shared detector per settings (the networks themselves are shared per device)."""
    settings = settings or DetectorSettings()
    det = _DETECTORS.get(settings)
    if det is None:
        det = _DETECTORS[settings] = FaceDetector(settings)
    return det


def detect(
    image: np.ndarray,
    *,
    bgr: bool = True,
    roi: Sequence[float] | None = None,
    min_face_size: float | None = None,
    thresholds: Sequence[float] | None = None,
    settings: DetectorSettings | None = None,
) -> list[Detection]:
    """Faces in one image with the given (or default) settings; see FaceDetector.detect."""
    return get_detector(settings).detect(
        image, bgr=bgr, roi=roi, min_face_size=min_face_size, thresholds=thresholds
    )
