"""Make the small FAF folder of the bundled sample project from the photographs beside it.

Each "clip" is a few views of one photograph (small shifts, zooms and rotations, as a camera
would give), aligned by the application's own MTCNN pipeline into 100x100 crops, with a TXT of
expression labels (some left unlabelled for the user to do). Run it again to rebuild `faf/`:

    .venv/bin/python resources/sample/make_sample_faf.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from feasstm_gui.core.faces.align import align_face
from feasstm_gui.core.faces.detector import detect
from feasstm_gui.core.formats.faf import write_faf_txt
from feasstm_gui.core.ingest.images import read_image, write_jpeg

HERE = Path(__file__).resolve().parent
OUT = HERE / "faf"

# clip id -> (photo, labels of its frames; 0 = unlabelled)
CLIPS = {
    "奥巴马 演讲": ("obama.jpg", [4, 4, 4, 4, 7, 7, 0, 0]),
    "Obama speaking": ("obama2.jpg", [1, 1, 7, 7, 0, 0]),
    "宇航员 Collins": ("astronaut.png", [4, 4, 7, 0, 0, 0]),
    "摄影师": ("camera.png", [7, 7, 0, 0, 0]),
}


def views(image: np.ndarray, n: int) -> list[np.ndarray]:
    """n camera-like views: a slow zoom with a little rotation and drift."""
    h, w = image.shape[:2]
    out = []
    for i in range(n):
        t = i / max(1, n - 1)
        angle = -6 + 12 * t
        scale = 1.0 + 0.12 * t
        m = cv2.getRotationMatrix2D((w / 2 + 10 * t, h / 2), angle, scale)
        out.append(cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    return out


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    for clip, (photo, labels) in CLIPS.items():
        image = read_image(HERE / "photos" / photo)
        rows = []
        for n, view in enumerate(views(image, len(labels)), 1):
            faces = detect(view)
            if not faces:
                raise SystemExit(f"no face found in a view of {photo}")
            crop, _ = align_face(view, faces[0].landmarks, size=100)
            name = f"{n:06d}.jpg"
            (OUT / clip).mkdir(parents=True, exist_ok=True)
            write_jpeg(OUT / clip / name, crop, quality=95)
            rows.append((name, labels[n - 1]))
        write_faf_txt(OUT / f"{clip}.txt", rows)
        print(f"{clip}: {len(rows)} crops")


if __name__ == "__main__":
    main()
