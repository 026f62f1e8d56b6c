"""Frame extraction speed on a 720p clip, against plain decoding of the same file in the same run.

Builds a 1280x720 clip (~300 frames) from a real photograph with camera motion (pan, zoom, small
rotation; optional film grain), written with cv2.VideoWriter (mp4v: this OpenCV build has no H.264
encoder) to a temporary folder whose name holds Chinese characters and spaces. Then measures:
- decode_fps: cv2.VideoCapture.read() over the whole file, nothing else;
- extract_fps: feasstm_gui.core.ingest.media.extract_frames over the whole file (decode, JPEG encode on a
  thread pool, atomic writes), at the given quality and workers;
- the JPEG encode time of one frame at quality 95 and 90, and the sizes, and extract_fps for other
  worker counts, so the trade-offs can be read off one run.
Each figure is the median of --repeat runs. The last line is JSON.

    .venv/bin/python benchmarks/extract.py [--frames 300] [--quality 95] [--workers 2] [--grain 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from feasstm_gui.core.ingest.media import extract_frames, probe_video

PHOTO = Path(__file__).resolve().parents[1] / "tests" / "data" / "faces" / "obama.jpg"
SIZE = (1280, 720)
FPS = 25.0


def build_clip(path: Path, frames: int, grain: float) -> None:
    """A slow pan, zoom and sway over the portrait; grain (std. dev.) adds film-like noise."""
    photo = cv2.imdecode(np.fromfile(PHOTO, np.uint8), cv2.IMREAD_COLOR)
    h, w = photo.shape[:2]
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        sys.exit(f"cannot write {path}")
    for i in range(frames):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 3 * np.sin(i / 25), 1.6 + 0.4 * np.sin(i / 40))
        m[0, 2] += SIZE[0] / 2 - w / 2 + 120 * np.sin(i / 30)
        m[1, 2] += SIZE[1] / 2 - h / 2 + 60 * np.cos(i / 35)
        frame = cv2.warpAffine(photo, m, SIZE, borderMode=cv2.BORDER_REFLECT)
        if grain:
            noise = rng.normal(0, grain, frame.shape).astype(np.float32)
            frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
        writer.write(frame)
    writer.release()


def decode_fps(path: Path) -> float:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    n, t0 = 0, time.perf_counter()
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    elapsed = time.perf_counter() - t0
    cap.release()
    return n / elapsed


def extract_fps(path: Path, out: Path, quality: int, workers: int) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    extraction = extract_frames(path, out, quality=quality, workers=workers)
    n = sum(1 for _ in extraction)
    elapsed = time.perf_counter() - t0
    assert extraction.result is not None and not extraction.result.stopped_early
    size = sum(p.stat().st_size for p in out.glob("*.jpg"))
    return n / elapsed, size // max(n, 1)


def encode_ms(frame: np.ndarray, quality: int, rounds: int = 40) -> tuple[float, int]:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    cv2.imencode(".jpg", frame, params)
    t0 = time.perf_counter()
    for _ in range(rounds):
        _, buf = cv2.imencode(".jpg", frame, params)
    return (time.perf_counter() - t0) / rounds * 1000, len(buf)


def median(fn, repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--grain", type=float, default=0.0, help="noise std. dev. in grey levels")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {platform.machine()} {platform.system()}, usable cores {cores}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, opencv {cv2.__version__}")
    print(f"opencv threads {cv2.getNumThreads()}")
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    print(f"load average (1 min) at start: {load}")  # other work on the machine skews the figures

    with tempfile.TemporaryDirectory(prefix="feasstm-bench-") as tmp:
        work = Path(tmp) / "基准 测试"
        work.mkdir()
        clip = work / "clip 720p.mp4"
        build_clip(clip, args.frames, args.grain)
        info = probe_video(clip)
        print(
            f"clip: {info.width}x{info.height}, {info.frame_count} frames, {info.fps} fps, "
            f"{info.codec}, {clip.stat().st_size / 1e6:.1f} MB, grain {args.grain}, from {PHOTO.name}"
        )
        out = work / "frames 帧"

        dec = median(lambda: decode_fps(clip), args.repeat)
        print(f"decode: {dec:.0f} frames/s")
        cap = cv2.VideoCapture(str(clip), cv2.CAP_FFMPEG)
        cap.set(cv2.CAP_PROP_POS_FRAMES, info.frame_count // 2)  # a sample frame, not timed
        frame = cap.read()[1]
        cap.release()
        enc = {}
        for q in (95, 90):
            ms, size = encode_ms(frame, q)
            enc[q] = (ms, size)
            print(f"JPEG q{q}: {ms:.2f} ms per frame (one thread), {size / 1024:.0f} KiB")

        by_workers = {}
        for w in sorted({0, 1, 2, args.workers}):
            fps_w = median(lambda w=w: extract_fps(clip, out, args.quality, w)[0], args.repeat)
            by_workers[w] = round(fps_w, 1)
            print(f"extract q{args.quality}, {w} workers: {fps_w:.0f} frames/s")
        other_q = 90 if args.quality != 90 else 95
        fps_other = median(lambda: extract_fps(clip, out, other_q, args.workers)[0], args.repeat)
        print(f"extract q{other_q}, {args.workers} workers: {fps_other:.0f} frames/s")
        main_fps = by_workers[args.workers]
        per_frame = extract_fps(clip, out, args.quality, args.workers)[1]
        print(
            f"extract q{args.quality}, {args.workers} workers: {per_frame / 1024:.0f} KiB per file"
        )

    print(
        json.dumps(
            {
                "extract_fps": main_fps,
                "decode_fps": round(dec, 1),
                "quality": args.quality,
                "workers": args.workers,
                "frames": info.frame_count,
                "width": info.width,
                "height": info.height,
                "codec": info.codec,
                "grain": args.grain,
                "cores": cores,
                "load_at_start": load,
                "jpeg_encode_ms": {str(q): round(v[0], 2) for q, v in enc.items()},
                "jpeg_kib": {str(q): round(v[1] / 1024) for q, v in enc.items()},
                "extract_fps_by_workers": {str(k): v for k, v in by_workers.items()},
                f"extract_fps_q{other_q}": round(fps_other, 1),
                "opencv": cv2.__version__,
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
