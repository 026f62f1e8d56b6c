"""Face alignment speed on a 720p clip: tracked pipeline against plain full-frame MTCNN.

Builds a 1280x720 clip (default 320 frames, 25 fps, mp4v) from a real photograph (obama.jpg):
a shot that pans, zooms and rolls over the portrait, then a cut to a closer shot of the same face
that moves the other way. Written to a temporary folder whose name holds Chinese characters and
spaces. Then:

- detect_fps: facenet-pytorch ``MTCNN.detect`` (default settings: min face 20, thresholds
  0.6/0.7/0.7) on every full frame; only the detect calls are timed. Its landmarks are the reference.
- pipeline_fps: what aligning a clip costs end to end: decode (cv2.VideoCapture.read),
  ActorTracker.step (full-frame detection on frame indices divisible by full_every, at scene cuts
  and when the track is lost; region detection around the last face otherwise), align (similarity
  onto the template, 100x100 crop), quality scores, JPEG encode and write of the crop, and a
  per-frame hook (``on_frame``) where the store commit goes once the store is integrated.
- ratio = pipeline_fps / detect_fps.
- landmark_err_iod_median / _p99 / _max: per frame, the mean distance between the pipeline's five
  landmarks and the reference's (same face), over the reference's inter-ocular distance.
- missed: frames where the reference finds the face and the pipeline reports no actor.

The machine is shared, so the two are timed *interleaved*, in turns of 16 frames: the pipeline
processes 16 frames (decoding them in its own thread), then the reference detects the same 16
frames, each turn timed on its own, so both see the same moments of load. The same is then measured
with decoding on a reader thread a few frames ahead (``ratio_reader_thread``; the reader is paused
while the reference runs). ``--rounds`` repeats both; the figures are the rounds' medians. The
periodic detection (every ``--full-every`` frames) searches the whole frame at the actor's scale;
``--periodic-all-sizes`` makes it search all sizes, as at cuts.

    .venv/bin/python benchmarks/align.py [--frames 320] [--full-every 30] [--threads 2] [--rounds 1]
                                         [--periodic-all-sizes]

The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
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


class FrameReader:
    """Decodes a video on a thread, a few frames ahead (cv2 releases the GIL while decoding), so
    decoding overlaps detection. ``pause()`` stops it from decoding (while the reference is timed)
    and ``resume()`` lets it go on; iterating yields BGR frames."""

    def __init__(self, path: Path, ahead: int = 8) -> None:
        self.cap = cv2.VideoCapture(str(path))
        self.q: queue.Queue = queue.Queue(maxsize=ahead)
        self.go = threading.Event()
        self.go.set()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.go.wait()
            ok, frame = self.cap.read()
            self.q.put(frame if ok else None)
            if not ok:
                break
        self.cap.release()

    def pause(self) -> None:
        self.go.clear()

    def resume(self) -> None:
        self.go.set()

    def __iter__(self) -> Iterator[np.ndarray]:
        while (frame := self.q.get()) is not None:
            yield frame
        self.thread.join()


class Pipeline:
    """One clip's alignment: track, align, score, write the JPEG crop, call the hook."""

    def __init__(
        self,
        crops_dir: Path,
        tracker_settings: TrackerSettings,
        detector_settings: DetectorSettings,
        on_frame: Callable[..., None] | None = None,
    ) -> None:
        self.tracker = ActorTracker(FaceDetector(detector_settings), tracker_settings)
        self.align = AlignSettings()
        self.crops_dir = crops_dir
        crops_dir.mkdir(parents=True, exist_ok=True)
        self.on_frame = on_frame
        self.prev = None
        self.modes: dict[str, int] = {}

    def __call__(self, i: int, frame: np.ndarray):
        r = self.tracker.step(i, frame)
        self.modes[r.mode] = self.modes.get(r.mode, 0) + 1
        crop = q = None
        if r.actor is not None:
            crop, m = align_face(frame, r.actor.landmarks, self.align)
            q = score_face(frame.shape, r.actor, crop, m, self.align, self.prev)
            ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
            (self.crops_dir / f"{i + 1:06d}.jpg").write_bytes(buf.tobytes())
            self.prev = crop
        if self.on_frame is not None:  # the store commit (frame, detection, scores, state) goes here
            self.on_frame(i, r, crop, q)
        return r.actor


def interleaved(path: Path, crops_dir: Path, tset, dset, threads: int, reader: bool, block: int = 16):
    """Pipeline and reference in turns of ``block`` frames, each timed on its own. With ``reader``
    the pipeline decodes on a reader thread, which is paused while the reference runs (so the
    reference is not slowed and the pipeline gets no frames decoded in the reference's time)."""
    import torch
    from facenet_pytorch import MTCNN

    torch.set_num_threads(threads)
    mtcnn = MTCNN(keep_all=True, device="cpu")
    pipe = Pipeline(crops_dir, tset, dset)
    ref, actors, t_pipe, t_ref, i = [], [], 0.0, 0.0, 0
    rd = FrameReader(path) if reader else None
    frames = iter(rd) if rd is not None else plain_frames(path)
    done = False
    while not done:
        t0 = time.perf_counter()
        batch = []
        for _ in range(block):
            frame = next(frames, None)
            if frame is None:
                done = True
                break
            actors.append(pipe(i, frame))
            batch.append(frame)
            i += 1
        t_pipe += time.perf_counter() - t0
        if rd is not None:
            rd.pause()
        for frame in batch:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            t2 = time.perf_counter()
            boxes, probs, points = mtcnn.detect(rgb, landmarks=True)
            t_ref += time.perf_counter() - t2
            ref.append(None if boxes is None else
                       (boxes.astype(float), probs.astype(float), points.astype(float)))
        if rd is not None:
            rd.resume()
    return ref, actors, i / t_ref, i / t_pipe, pipe.modes


def warm_up(path: Path, dset: DetectorSettings) -> None:
    """First calls allocate and pick kernels; keep that out of the timings."""
    frame = next(plain_frames(path))
    det = FaceDetector(dset)
    for _ in range(3):
        face = det.detect(frame)[0]
        s = face.size
        cx, cy = face.center
        det.detect(frame, roi=(cx - s, cy - s, cx + s, cy + s), face_size=(0.4 * s, 3 * s))


def plain_frames(path: Path) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        yield frame
    cap.release()


def landmark_errors(ref: list, actors: list) -> tuple[list[float], int, int]:
    errs, missed, matched = [], 0, 0
    for r, a in zip(ref, actors):
        if r is None:
            continue
        boxes, probs, points = r
        keep = probs >= 0.9
        if not keep.any():
            continue
        points = points[keep]
        if a is None:
            missed += 1
            continue
        d = [np.linalg.norm(p - a.landmarks, axis=1).mean() for p in points]
        j = int(np.argmin(d))  # the reference face that is the pipeline's actor
        errs.append(float(d[j]) / float(np.linalg.norm(points[j][1] - points[j][0])))
        matched += 1
    return errs, missed, matched


def cpu_busy() -> tuple[float, float]:
    """(machine-wide busy CPU seconds, this process's CPU seconds) so far."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    busy = (sum(v) - v[3] - v[4]) / hz
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return busy, ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=320)
    ap.add_argument("--full-every", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--periodic-all-sizes", action="store_true",
                    help="the periodic whole-frame detection searches all face sizes")
    args = ap.parse_args()

    import torch

    tmp = Path(tempfile.mkdtemp(prefix="feasstm 基准 "))
    try:
        clip = tmp / "对齐 clip.mp4"
        cuts = build_clip(clip, args.frames)
        tset = TrackerSettings(full_every=args.full_every,
                               periodic_all_sizes=args.periodic_all_sizes)
        dset = DetectorSettings(num_threads=args.threads, device="cpu")
        warm_up(clip, dset)
        rounds = []
        busy0, own0, wall0 = *cpu_busy(), time.perf_counter()
        for k in range(args.rounds):
            for reader in (False, True):
                ref, actors, dfps, pfps, modes = interleaved(
                    clip, tmp / f"c{k}{reader}", tset, dset, args.threads, reader
                )
                rounds.append((reader, dfps, pfps))
                errs, missed, matched = landmark_errors(ref, actors)
        busy1, own1, wall1 = *cpu_busy(), time.perf_counter()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
    main_rounds = [(d, p) for reader, d, p in rounds if not reader]
    reader_rounds = [(d, p) for reader, d, p in rounds if reader]
    ratios = [p / d for d, p in main_rounds]
    detect_fps = statistics.median(d for d, _ in main_rounds)
    pipeline_fps = statistics.median(p for _, p in main_rounds)
    result = {
        "frames": len(ref),
        "size": list(SIZE),
        "shots_start": cuts,
        "detect_fps": round(detect_fps, 2),
        "pipeline_fps": round(pipeline_fps, 2),
        "ratio": round(statistics.median(ratios), 2),
        "ratio_rounds": [round(r, 2) for r in ratios],
        "ratio_reader_thread": round(statistics.median(p / d for d, p in reader_rounds), 2),
        "landmark_err_iod_median": round(float(np.median(errs)), 5) if errs else None,
        "landmark_err_iod_p99": round(float(np.percentile(errs, 99)), 5) if errs else None,
        "landmark_err_iod_max": round(float(np.max(errs)), 5) if errs else None,
        "missed": missed,
        "matched": matched,
        "modes": modes,
        "full_every": args.full_every,
        "periodic_all_sizes": args.periodic_all_sizes,
        "threads": args.threads,
        "other_processes_cpu": round(others, 2),
    }
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()}; "
          f"other processes used {others:.2f} CPUs on average while timing")
    print(f"python {platform.python_version()} torch {torch.__version__} "
          f"opencv {cv2.__version__} numpy {np.__version__}")
    print(f"clip: {result['frames']} frames {SIZE[0]}x{SIZE[1]} mp4v, cut at {cuts[1]}; "
          f"torch threads {args.threads}; full detection every {args.full_every} frames")
    for reader, d, p in rounds:
        how = "reader thread" if reader else "decode in the same thread"
        print(f"{how}: detect {d:.2f} fps, pipeline {p:.2f} fps, ratio {p / d:.2f}")
    print(f"modes {modes}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
