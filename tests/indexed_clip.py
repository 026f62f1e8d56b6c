"""Clips whose frames carry their own source index, with a sound track (tests/ is on sys.path).

Each frame shows its index in binary: 16 vertical bars, white for a 1 bit (bit 0 on the left),
so the index can be read back from a painted picture after lossy coding and scaling. The sound
is a 440 Hz tone. Encoded with the ffmpeg binary that imageio-ffmpeg ships (a test-only
dependency): H.264 with a keyframe every 12 frames (so seeks have to decode forward from a
keyframe) and AAC sound, in MP4.

    from indexed_clip import make_indexed_clip, read_index, video_project
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np

from feasstm_gui.core.store import Clip, Store

BITS = 16


def index_image(index: int, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A BGR frame showing `index` as 16 bars (white = 1), on a dark grey ground."""
    w, h = size
    img = np.full((h, w, 3), 40, np.uint8)
    bw = w // BITS
    for b in range(BITS):
        if index >> b & 1:
            img[:, b * bw:(b + 1) * bw] = 255
    return img


def read_index_bgr(img: np.ndarray) -> int:
    """The index drawn by index_image, read from a (possibly scaled) BGR or grey picture."""
    h, w = img.shape[:2]
    band = np.ascontiguousarray(img[h // 4: 3 * h // 4: max(1, h // 64)], dtype=np.float32)
    grey = band if band.ndim == 2 else band.mean(axis=2)
    bw = w / BITS
    value = 0
    for b in range(BITS):
        x0, x1 = int(b * bw + bw * 0.3), int(b * bw + bw * 0.7)
        if grey[:, x0:max(x1, x0 + 1)].mean() > 150:
            value |= 1 << b
    return value


def read_index(image) -> int:
    """The index drawn in a QImage (the part of it that shows the frame)."""
    from PySide6.QtGui import QImage

    img = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    arr = np.frombuffer(img.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return read_index_bgr(arr[:, : w * 3].reshape(h, w, 3))


def make_indexed_clip(path: Path, n: int, *, fps: float = 25.0, size: tuple[int, int] = (320, 240),
                      sound: bool = True, gop: int = 12) -> Path:
    """Write an MP4 (H.264, AAC tone) of `n` frames, frame i showing i."""
    import imageio_ffmpeg

    w, h = size
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
           "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", f"{fps}", "-i", "-"]
    if sound:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={n / fps}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(gop),
            "-bf", "0"]
    if sound:
        cmd += ["-c:a", "aac", "-b:a", "64k"]
    cmd += ["-t", f"{n / fps}", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    for i in range(n):
        proc.stdin.write(index_image(i, size).tobytes())
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed on {path}: {err.decode(errors='replace')}")
    return path


def video_project(folder: Path, video: Path | None, n: int, *, fps: float = 25.0,
                  step: int = 1, no_face: set[int] = frozenset(), clip: str = "片段 1",
                  group: str = "A", stored_size: tuple[int, int] = (160, 120)) -> Store:
    """A project with one clip of `video` whose frames 0, step, 2*step, ... < n are stored
    (an image and a crop each showing the frame's index); frames in `no_face` have no crop."""
    store = Store.create(folder, annotator="tester")
    store.add_clip(Clip(clip, video=str(video) if video else None, actor="演员", group=group,
                        fps=fps, source="video", extract_status="done", align_status="done"))
    indices = list(range(0, n, step))
    (folder / "frames").mkdir(exist_ok=True)
    (folder / "crops").mkdir(exist_ok=True)
    rows = []
    for i in indices:
        rel = f"frames/{i:06d}.jpg"
        cv2.imwrite(str(folder / rel), index_image(i, stored_size))
        rows.append((i, i * 1000.0 / fps, rel, None))
    ids = store.add_frames(clip, rows)
    for i, fid in zip(indices, ids):
        if i in no_face:
            continue
        crop = f"crops/{i:06d}.jpg"
        cv2.imwrite(str(folder / crop), index_image(i, (100, 100)))
        store.add_face(fid, crop=crop, box=[10, 10, 90, 90], prob=0.99)
    return store
