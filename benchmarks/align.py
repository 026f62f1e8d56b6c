"""Face alignment speed on a 720p clip: tracked pipeline against plain full-frame MTCNN.

Builds a 1280x720 clip (default 320 frames, 25 fps, mp4v) from a real photograph (obama.jpg):
a shot that pans, zooms and rolls over the portrait, then a cut to a closer shot of the same face
that moves the other way. Written to a temporary folder whose name holds Chinese characters and
spaces. Then, in the same run:

- detect_fps: facenet-pytorch ``MTCNN.detect`` (default settings: min face 20, thresholds 0.6/0.7/0.7)
  on every full frame; only the detect calls are timed (decoding is not). Its landmarks are the
  reference.
- pipeline_fps: what aligning a clip costs end to end: decode (cv2.VideoCapture), ActorTracker.step
  (full-frame detection on frame indices divisible by full_every, at scene cuts and when the track
  is lost; region detection around the last face otherwise), align (similarity onto the template,
  100x100 crop), quality scores, JPEG encode and write of the crop, and a per-frame hook
  (``on_frame``) where the store commit goes once the store is integrated.
- ratio = pipeline_fps / detect_fps.
- landmark_err_iod_median / _p99: per frame, the mean distance between the pipeline's five
  landmarks and the reference's (same face), divided by the reference inter-ocular distance.
- missed: frames where the reference finds the face and the pipeline reports no actor.

The pipeline decodes on a reader thread (a few frames ahead), as the alignment job should; the
reference and the pipeline run alternately ``--rounds`` times and the best round of each counts.

    .venv/bin/python benchmarks/align.py [--frames 320] [--full-every 30] [--threads 2] [--rounds 2]

The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # clipmaker: ground-truth clips from the test photos

import clipmaker  # noqa: E402

from feasstm_gui.core.faces.align import AlignSettings, align_face  # noqa: E402
from feasstm_gui.core.faces.detector import DetectorSettings, FaceDetector  # noqa: E402
from feasstm_gui.core.faces.quality import score_face  # noqa: E402
from feasstm_gui.core.faces.tracker import ActorTracker, TrackerSettings  # noqa: E402

SIZE = (1280, 720)
FPS = 25.0


def build_clip(path: Path, frames: int) -> list[int]:
    """Two shots of one face; returns the frame indices where a shot starts."""
    first = frames // 2
    shots = [
        clipmaker.Shot("wide", "obama", first, (190, -5.0, 380, 300), (260, 6.0, 900, 380)),
        clipmaker.Shot("close", "obama", frames - first, (330, 4.0, 760, 400), (290, -4.0, 520, 340)),
    ]
    images, _ = clipmaker.render_clip(shots, SIZE)
    clipmaker.write_video(path, images, FPS, "mp4v")
    return [0, first]


def reference(path: Path, threads: int) -> tuple[list, float]:
    """Plain MTCNN.detect on every full frame: (boxes, probs, landmarks) per frame, and its fps."""
    import torch
    from facenet_pytorch import MTCNN

    torch.set_num_threads(threads)
    mtcnn = MTCNN(keep_all=True, device="cpu")
    cap = cv2.VideoCapture(str(path))
    out, spent = [], 0.0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        t = time.perf_counter()
        boxes, probs, points = mtcnn.detect(rgb, landmarks=True)
        spent += time.perf_counter() - t
        if boxes is None:
            out.append(None)
        else:
            out.append((boxes.astype(float), probs.astype(float), points.astype(float)))
    cap.release()
    return out, len(out) / spent


class FrameReader:
    """Decodes a video on a thread, a few frames ahead (cv2 releases the GIL while decoding), so
    decoding overlaps detection. Iterating yields (index, BGR frame)."""

    def __init__(self, path: Path, ahead: int = 8, threaded: bool = True) -> None:
        self.path, self.ahead, self.threaded = path, ahead, threaded

    def __iter__(self):
        cap = cv2.VideoCapture(str(self.path))
        if not self.threaded:
            i = 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                yield i, frame
                i += 1
            cap.release()
            return
        q: queue.Queue = queue.Queue(maxsize=self.ahead)

        def run() -> None:
            while True:
                ok, frame = cap.read()
                q.put(frame if ok else None)
                if not ok:
                    break
            cap.release()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        i = 0
        while (frame := q.get()) is not None:
            yield i, frame
            i += 1
        t.join()


def pipeline(
    path: Path,
    crops_dir: Path,
    tracker_settings: TrackerSettings,
    detector_settings: DetectorSettings,
    on_frame: Callable[..., None] | None = None,
    threaded_decode: bool = True,
) -> tuple[list, float, dict]:
    """Decode, track, align, score, write JPEG crops; returns the actor per frame and fps."""
    detector = FaceDetector(detector_settings)
    tracker = ActorTracker(detector, tracker_settings)
    align = AlignSettings()
    crops_dir.mkdir(parents=True, exist_ok=True)
    actors, modes = [], {"roi": 0, "full": 0}
    prev = None
    t = time.perf_counter()
    n = 0
    for i, frame in FrameReader(path, threaded=threaded_decode):
        r = tracker.step(i, frame)
        modes[r.mode] = modes.get(r.mode, 0) + 1
        crop = q = None
        if r.actor is not None:
            crop, m = align_face(frame, r.actor.landmarks, align)
            q = score_face(frame.shape, r.actor, crop, m, align, prev)
            ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
            (crops_dir / f"{i + 1:06d}.jpg").write_bytes(buf.tobytes())
            prev = crop
        if on_frame is not None:  # the store commit (frame, detection, scores, r.state) goes here
            on_frame(i, r, crop, q)
        actors.append(r.actor)
        n += 1
    elapsed = time.perf_counter() - t
    return actors, n / elapsed, modes


def landmark_errors(ref: list, actors: list) -> tuple[list[float], int, int]:
    errs, missed, matched = [], 0, 0
    for r, a in zip(ref, actors):
        if r is None:
            continue
        boxes, probs, points = r
        keep = probs >= 0.9
        if not keep.any():
            continue
        boxes, points = boxes[keep], points[keep]
        if a is None:
            missed += 1
            continue
        # the reference face that is the pipeline's actor: nearest landmarks
        d = [np.linalg.norm(p - a.landmarks, axis=1).mean() for p in points]
        j = int(np.argmin(d))
        iod = float(np.linalg.norm(points[j][1] - points[j][0]))
        errs.append(float(d[j]) / iod)
        matched += 1
    return errs, missed, matched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=320)
    ap.add_argument("--full-every", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2,
                    help="reference and pipeline run alternately this many times each; the best "
                         "round of each counts (the machine is shared: the best is the least "
                         "disturbed)")
    ap.add_argument("--no-reader-thread", action="store_true",
                    help="decode in the pipeline's own thread instead of a reader thread")
    args = ap.parse_args()

    import torch

    tmp = Path(tempfile.mkdtemp(prefix="feasstm 基准 "))
    load_before = os.getloadavg()[0]
    try:
        clip = tmp / "对齐 clip.mp4"
        cuts = build_clip(clip, args.frames)
        tset = TrackerSettings(full_every=args.full_every)
        dset = DetectorSettings(num_threads=args.threads, device="cpu")
        ref_fps, pipe_fps = [], []
        for k in range(args.rounds):
            ref, fps = reference(clip, args.threads)
            ref_fps.append(fps)
            actors, fps, modes = pipeline(clip, tmp / f"crops{k}", tset, dset,
                                          threaded_decode=not args.no_reader_thread)
            pipe_fps.append(fps)
        errs, missed, matched = landmark_errors(ref, actors)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    detect_fps, pipeline_fps = max(ref_fps), max(pipe_fps)
    result = {
        "frames": len(ref),
        "size": list(SIZE),
        "shots_start": cuts,
        "detect_fps": round(detect_fps, 2),
        "pipeline_fps": round(pipeline_fps, 2),
        "ratio": round(pipeline_fps / detect_fps, 2),
        "ratio_median_rounds": round(statistics.median(pipe_fps) / statistics.median(ref_fps), 2),
        "landmark_err_iod_median": round(float(np.median(errs)), 5) if errs else None,
        "landmark_err_iod_p99": round(float(np.percentile(errs, 99)), 5) if errs else None,
        "landmark_err_iod_max": round(float(np.max(errs)), 5) if errs else None,
        "missed": missed,
        "matched": matched,
        "modes": modes,
        "full_every": args.full_every,
        "threads": args.threads,
        "reader_thread": not args.no_reader_thread,
        "rounds": {"detect_fps": [round(x, 2) for x in ref_fps],
                   "pipeline_fps": [round(x, 2) for x in pipe_fps]},
    }
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"load before={load_before:.2f} after={os.getloadavg()[0]:.2f}")
    print(f"python {platform.python_version()} torch {torch.__version__} "
          f"opencv {cv2.__version__} numpy {np.__version__}")
    print(f"clip: {result['frames']} frames {SIZE[0]}x{SIZE[1]} mp4v, cut at {cuts[1]}; "
          f"torch threads {args.threads}; full detection every {args.full_every} frames; "
          f"decode on a {'reader' if result['reader_thread'] else 'the same'} thread")
    print(f"detect fps per round {result['rounds']['detect_fps']}, "
          f"pipeline fps per round {result['rounds']['pipeline_fps']}, modes {modes}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
