"""Face alignment speed on a 720p clip: `feasstm extract` + `feasstm align` against plain MTCNN.

Builds a 1280x720 clip (default 320 frames, 25 fps, mp4v) from a real photograph (obama.jpg):
a shot that pans, zooms and rolls over the portrait, then a cut to a closer shot of the same face
that moves the other way. Written to a temporary folder whose name holds Chinese characters and
spaces, and imported into a fresh project there. Then, in the same run:

- pipeline_fps: what `feasstm extract` followed by `feasstm align` costs, end to end, through the
  real store: ``extract_clip`` (decoding the video file, JPEG encode and write of every frame,
  store commits) then ``align_clip`` (reading each stored frame, tracking, alignment, quality
  scores, crop JPEG, a store commit per frame, the clip's relative sharpness at the end).
  frames / (extract seconds + align seconds).
- detect_fps: facenet-pytorch ``MTCNN.detect`` (default settings: min face 20, thresholds
  0.6/0.7/0.7) on every full frame, the very frames the pipeline aligned (the project's full
  frames: decoded again from the video where the project stores previews, the default since
  issue 19; the stored JPEGs with ``--preview-side 0``); only the detect calls are timed. Its
  landmarks are the reference.
- ratio = pipeline_fps / detect_fps.
- landmark_err_iod_median / _p99 / _max: per frame, the mean distance between the *stored*
  landmarks (the store's current face) and the reference's (same face), over the reference's
  inter-ocular distance.
- missed: frames where the reference finds a face (p >= 0.9; the clip shows only the actor) and
  the store has no face.
- bytes_per_frame: the project's disk use per frame after the run (stored frames, crops, the
  database with its WAL), and bytes_per_frame_parts, the three apart. The stored frames are
  previews of at most ``--preview-side`` pixels (the project's `extract.preview_side`, 640 by
  default); ``--preview-side 0`` stores full frames (JPEG q95), as before issue 19.
- tracker_only_fps / tracker_only_ratio (the earlier, detection-only figure, kept for
  comparison): tracking, alignment, scores and crop JPEG on frames already in memory, without
  decoding, reading frames or the store.

The machine is shared, so the align job, the tracker-only pipeline and the reference are timed
*interleaved*, in turns of 16 frames (the align job commits 16 frames, then the tracker-only
pipeline and the reference process the same 16 frames, each timed on its own), so all see the same
moments of load. The extraction (about a tenth of the pipeline's time) is timed as one block before
that. ``--rounds`` repeats everything on a fresh project; the figures are the rounds' medians. The
load average and the CPU time other processes used while timing are printed.

Before any timing, a warm-up: plain MTCNN and the pipeline's detector three times on a frame, the
identity network once (networks load once a process), and the timed job itself once on a 48-frame
clip in a throwaway project (a process's first job pays for lazy imports, its first SQLite
statements, decoder, encoders and thread pools: round 0 was the slowest round in most runs
without it, by about 3-5 %).

    .venv/bin/python benchmarks/align.py [--frames 320] [--full-every 30] [--threads 2]
                                         [--region-threads 1] [--rounds 1] [--separate]
                                         [--periodic-all-sizes] [--runtime onnx|torch]
                                         [--search-every N]
                                         [--device cpu|cuda] [--batch N]
                                         [--preview-side 640]

``--search-every 1`` searches the region on every tracked frame (no ONet-only confirmation:
the figure before the fast path). ``--runtime torch`` runs the region detections' networks on torch instead of ONNX Runtime (the
figure before issue 19). ``--device cuda`` runs the pipeline and the reference on the first GPU
torch sees: the pipeline detects ``--batch`` (16) whole frames at a time and the tracker follows
the actor among their faces (`process_clip`'s GPU path); the reference is plain MTCNN frame by
frame as on the CPU (``detect_fps``, so ``ratio`` keeps its meaning) and, printed apart, on the
same batches (``detect_batch_fps``). Without a CUDA device it stops at once with exit status 2
and says so. ``--batch`` on the CPU runs that same batched path on the CPU (slow; a check of the
code path, not a speed figure).

The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package, not whichever one the venv installed
sys.path.insert(0, str(ROOT / "tests"))  # clipmaker: ground-truth clips from the test photos

import clipmaker  # noqa: E402

from feasstm_gui.core.faces.align import AlignSettings, align_face  # noqa: E402
from feasstm_gui.core.faces.detector import DetectorSettings, FaceDetector  # noqa: E402
from feasstm_gui.core.faces.quality import score_face  # noqa: E402
from feasstm_gui.core.faces.tracker import ActorTracker, TrackerSettings  # noqa: E402
from feasstm_gui.core.ingest.full_frames import FullFrames  # noqa: E402
from feasstm_gui.core.ingest.importer import import_videos  # noqa: E402
from feasstm_gui.core.ingest.pipeline import align_clip, extract_clip, process_clip  # noqa: E402
from feasstm_gui.core.jobs import drive  # noqa: E402
from feasstm_gui.core.store import CROPS_DIR, FRAMES_DIR, Store  # noqa: E402

SIZE = (1280, 720)
FPS = 25.0
CLIP = "对齐 clip"


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


class TrackerOnly:
    """The detection-only figure: track, align, score, write the JPEG crop; no decoding, no
    store."""

    def __init__(self, crops_dir: Path, tracker_settings: TrackerSettings,
                 detector_settings: DetectorSettings,
                 on_frame: Callable[..., None] | None = None) -> None:
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
        if self.on_frame is not None:
            self.on_frame(i, r, crop, q)
        return r.actor


def new_project(folder: Path, video: Path, tset: TrackerSettings,
                dset: DetectorSettings, preview_side: int | None = None) -> Store:
    store = Store.create(folder, annotator="benchmark")
    if preview_side is not None:  # 0: full frames stored, as before issue 19
        store.set_params({"extract.preview_side": preview_side or None})
    result = drive(import_videos(store, [video]))
    if result.exit_status != 0:
        raise SystemExit(f"import failed: {result.problems}")
    store.set_params({"align.tracker": tset.to_dict(), "align.detector": dset.to_dict()})
    return store


def one_round(video: Path, folder: Path, tset, dset, threads: int, block: int = 16,
              separate: bool = False, gpu_batch: int | None = None,
              preview_side: int | None = None) -> dict:
    """A fresh project: the one-pass job (`process_clip`: decode once, write the frame, align),
    or with ``separate`` extract (timed as one block) then the align job; the tracker-only
    pipeline and the reference run in turns of ``block`` frames."""
    import torch
    from facenet_pytorch import MTCNN

    torch.set_num_threads(threads)
    mtcnn = MTCNN(keep_all=True, device=dset.device)
    store = new_project(folder / "项目", video, tset, dset, preview_side)
    full = FullFrames(store)  # the full frames: stored, or decoded again from the video
    try:
        t_extract = 0.0
        if separate:
            t0 = time.perf_counter()
            extracted = drive(extract_clip(store, CLIP))
            t_extract = time.perf_counter() - t0
            if extracted.exit_status != 0:
                raise SystemExit(f"extract failed: {extracted.problems}")
            job = align_clip(store, CLIP, device=dset.device)
        else:
            job = process_clip(store, CLIP, device=dset.device, detect_batch=gpu_batch)
        tracker_only = TrackerOnly(folder / "tracker-only", tset, dset)
        ref: list = []
        t_align = t_only = t_ref = t_ref_batch = 0.0
        c_align = c_ref = 0.0  # CPU seconds of this process (all its threads)
        k, done, finished = 0, 0, False
        while not finished:
            t1, c1 = time.perf_counter(), own_cpu()
            target = done + block  # the job reports progress per committed batch
            while done < target:
                try:
                    done = next(job).done
                except StopIteration:
                    finished = True
                    break
            t_align += time.perf_counter() - t1
            c_align += own_cpu() - c1
            rows = store.frames(CLIP)  # outside the timings
            batch = [(r.frame_index, full.image(r))
                     for r in rows[k:done]]  # read outside the timings
            k = done
            t2 = time.perf_counter()
            for i, frame in batch:
                tracker_only(i, frame)
            t_only += time.perf_counter() - t2
            torch.set_num_threads(threads)  # the pipeline sets its own counts; reset them
            for _, frame in batch:
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                t3, c3 = time.perf_counter(), own_cpu()
                boxes, probs, points = mtcnn.detect(rgb, landmarks=True)
                t_ref += time.perf_counter() - t3
                c_ref += own_cpu() - c3
                ref.append(None if boxes is None else
                           (boxes.astype(float), probs.astype(float), points.astype(float)))
            if gpu_batch and batch:  # plain MTCNN on batches of the same frames
                rgb = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for _, f in batch])
                t4 = time.perf_counter()
                for j in range(0, len(rgb), gpu_batch):
                    mtcnn.detect(rgb[j : j + gpu_batch], landmarks=True)
                t_ref_batch += time.perf_counter() - t4
        n = len(rows)
        faces = {f.frame_id: f for f in store.current_faces(CLIP)}
        stored = [faces.get(r.id) for r in rows]
        modes: dict[str, int] = {}
        for f in stored:
            if f is not None and f.scores:
                modes[f.scores.get("mode", "?")] = modes.get(f.scores.get("mode", "?"), 0) + 1
        disk = disk_use(store)
        return {"frames": n, "disk": disk, "t_ref_batch": t_ref_batch,
                "preview_side": store.param("extract.preview_side"),
                "t_extract": t_extract, "t_align": t_align, "t_only": t_only,
                "c_align": c_align, "c_ref": c_ref,
                "t_ref": t_ref, "ref": ref, "stored": stored, "modes": modes,
                "tracker_only_modes": tracker_only.modes,
                "irrelevant": sum(r.irrelevant for r in store.frames(CLIP))}
    finally:
        full.close()
        store.close()


def disk_use(store: Store) -> dict[str, int]:
    """Bytes of the project's stored frames, crops and database files (with its WAL)."""
    def size(path: Path) -> int:
        if path.is_file():
            return path.stat().st_size
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0

    folder = store.folder
    return {"frames": size(folder / FRAMES_DIR), "crops": size(folder / CROPS_DIR),
            "db": sum(size(f) for f in folder.glob("project.sqlite*"))}


def warm_up(path: Path, dset: DetectorSettings, threads: int) -> None:
    """First calls allocate and pick kernels, and networks are loaded once a process (MTCNN's,
    and the identity network the pipeline describes the actor with); keep that out of the
    timings."""
    import torch
    from facenet_pytorch import MTCNN

    torch.set_num_threads(threads)
    frame = next(plain_frames(path))
    det = FaceDetector(dset)
    mtcnn = MTCNN(keep_all=True, device=dset.device)
    from feasstm_gui.core.faces import identity

    identity.embed(frame, det.detect(frame)[0])  # the identity network, loaded once a process
    for _ in range(3):
        face = det.detect(frame)[0]
        s = face.size
        cx, cy = face.center
        det.detect(frame, roi=(cx - s, cy - s, cx + s, cy + s), face_size=(0.4 * s, 3 * s))
        torch.set_num_threads(threads)
        mtcnn.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), landmarks=True)


def warm_job(folder: Path, tset, dset, separate: bool, gpu_batch: int | None,
             preview_side: int | None) -> None:
    """The timed job once, untimed, on a short clip (48 frames, a cut at 24) in a throwaway
    project: a process's first job pays for its lazy imports, its first SQLite statements, its
    first decoder, encoders and thread pools (measured: round 0 was the slowest round in most
    runs before this), which are not a cost of the clip."""
    folder.mkdir(parents=True)
    video = folder / f"{CLIP}.mp4"
    build_clip(video, 48)
    store = new_project(folder / "项目", video, tset, dset, preview_side)
    try:
        if separate:
            drive(extract_clip(store, CLIP))
            drive(align_clip(store, CLIP, device=dset.device))
        else:
            drive(process_clip(store, CLIP, device=dset.device, detect_batch=gpu_batch))
    finally:
        store.close()


def plain_frames(path: Path) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        yield frame
    cap.release()


def landmark_errors(ref: list, stored: list) -> tuple[list[float], int, int]:
    """Stored faces (store Face or None per frame) against the reference's detections."""
    errs, missed, matched = [], 0, 0
    for r, face in zip(ref, stored):
        if r is None:
            continue
        boxes, probs, points = r
        keep = probs >= 0.9
        if not keep.any():
            continue
        points = points[keep]
        if face is None or not face.landmarks:
            missed += 1
            continue
        lm = np.asarray(face.landmarks, float)
        d = [np.linalg.norm(p - lm, axis=1).mean() for p in points]
        j = int(np.argmin(d))  # the reference face that is the stored actor
        errs.append(float(d[j]) / float(np.linalg.norm(points[j][1] - points[j][0])))
        matched += 1
    return errs, missed, matched


def own_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


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
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads of the reference and of the pipeline's whole-frame "
                         "detections")
    ap.add_argument("--region-threads", type=int, default=DetectorSettings().region_threads,
                    help="torch threads of the pipeline's region detections")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--separate", action="store_true",
                    help="time extract then align as two jobs instead of the one-pass job")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cuda: the pipeline and the reference on the GPU, the pipeline detecting "
                         "--batch frames at a time")
    ap.add_argument("--batch", type=int, default=None,
                    help="frames detected together, whole, by the pipeline (default 16 with "
                         "--device cuda; on the CPU only to check that path: slow)")
    ap.add_argument("--runtime", choices=("onnx", "torch"), default=DetectorSettings().runtime,
                    help="what runs the networks of the pipeline's region detections")
    ap.add_argument("--search-every", type=int, default=TrackerSettings().search_every,
                    help="within a shot the region is searched on every N-th frame; between, "
                         "ONet alone confirms the actor (1: search every frame, as before)")
    ap.add_argument("--periodic-all-sizes", action="store_true",
                    help="the periodic whole-frame detection searches all face sizes")
    ap.add_argument("--preview-side", type=int, default=None,
                    help="stored frames' longer side (the project's extract.preview_side; "
                         "default: the project default, 640); 0 stores full frames, as before")
    args = ap.parse_args()

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"align.py: --device cuda: torch {torch.__version__} sees no CUDA device "
              f"(built for CUDA {torch.version.cuda or 'none'}); run it on a machine with an "
              "NVIDIA GPU and its driver, or leave --device out for the CPU benchmark",
              file=sys.stderr)
        raise SystemExit(2)
    if args.device == "cuda" and args.separate:
        print("align.py: --device cuda times the one-pass job; leave --separate out",
              file=sys.stderr)
        raise SystemExit(2)
    if args.batch is None and args.device == "cuda":
        args.batch = 16
    if args.batch is not None and args.batch < 1:
        print("align.py: --batch must be at least 1", file=sys.stderr)
        raise SystemExit(2)
    tmp = Path(tempfile.mkdtemp(prefix="feasstm 基准 "))
    try:
        clip = tmp / f"{CLIP}.mp4"
        cuts = build_clip(clip, args.frames)
        tset = TrackerSettings(full_every=args.full_every,
                               periodic_all_sizes=args.periodic_all_sizes,
                               search_every=max(1, args.search_every))
        dset = DetectorSettings(num_threads=args.threads, region_threads=args.region_threads,
                                device=args.device, runtime=args.runtime)
        warm_up(clip, dset, args.threads)
        warm_job(tmp / "warm-up", tset, dset, args.separate, args.batch, args.preview_side)
        load_before = os.getloadavg()
        rounds = []
        busy0, own0, wall0 = *cpu_busy(), time.perf_counter()
        for k in range(args.rounds):
            rounds.append(one_round(clip, tmp / f"round {k}", tset, dset, args.threads,
                                      separate=args.separate,
                                      gpu_batch=args.batch,
                                      preview_side=args.preview_side))
        busy1, own1, wall1 = *cpu_busy(), time.perf_counter()
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
    n = rounds[0]["frames"]
    detect = [r["frames"] / r["t_ref"] for r in rounds]
    pipeline = [r["frames"] / (r["t_extract"] + r["t_align"]) for r in rounds]
    only = [r["frames"] / r["t_only"] for r in rounds]
    ratios = [p / d for p, d in zip(pipeline, detect)]
    last = rounds[-1]
    errs, missed, matched = landmark_errors(last["ref"], last["stored"])
    result = {
        "frames": n,
        "size": list(SIZE),
        "shots_start": cuts,
        "detect_fps": round(statistics.median(detect), 2),
        "pipeline_fps": round(statistics.median(pipeline), 2),
        "ratio": round(statistics.median(ratios), 2),
        "ratio_rounds": [round(r, 2) for r in ratios],
        "extract_fps": (round(statistics.median(r["frames"] / r["t_extract"] for r in rounds), 2)
                        if args.separate else None),
        "job": "extract_clip + align_clip" if args.separate else "process_clip (one pass)",
        "align_fps": round(statistics.median(r["frames"] / r["t_align"] for r in rounds), 2),
        "landmark_err_iod_median": round(float(np.median(errs)), 5) if errs else None,
        "landmark_err_iod_p99": round(float(np.percentile(errs, 99)), 5) if errs else None,
        "landmark_err_iod_max": round(float(np.max(errs)), 5) if errs else None,
        "missed": missed,
        "matched": matched,
        "irrelevant": last["irrelevant"],
        "bytes_per_frame": round(sum(last["disk"].values()) / n),
        "bytes_per_frame_parts": {k: round(v / n) for k, v in last["disk"].items()},
        "modes": last["modes"],
        "preview_side": last["preview_side"],
        # CPU time per frame (this process, all threads): less sensitive to other processes than
        # the wall-clock figures, though torch's waiting threads count too
        "pipeline_cpu_ms": round(statistics.median(1e3 * r["c_align"] / r["frames"]
                                                   for r in rounds), 2),
        "detect_cpu_ms": round(statistics.median(1e3 * r["c_ref"] / r["frames"]
                                                 for r in rounds), 2),
        "tracker_only_fps": round(statistics.median(only), 2),
        "tracker_only_ratio": round(statistics.median(o / d for o, d in zip(only, detect)), 2),
        "full_every": args.full_every,
        "periodic_all_sizes": args.periodic_all_sizes,
        "search_every": args.search_every,
        "threads": args.threads,
        "region_threads": args.region_threads,
        "runtime": args.runtime,
        "device": args.device,
        "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
        "batch": args.batch,
        "detect_batch_fps": (round(statistics.median(r["frames"] / r["t_ref_batch"]
                                                     for r in rounds), 2)
                             if args.batch else None),
        "other_processes_cpu": round(others, 2),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
    }
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()}; "
          f"other processes used {others:.2f} CPUs on average while timing; load average "
          f"before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, after "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print(f"python {platform.python_version()} torch {torch.__version__} "
          f"opencv {cv2.__version__} numpy {np.__version__}")
    print(f"clip: {n} frames {SIZE[0]}x{SIZE[1]} mp4v, cut at {cuts[1]}; "
          f"torch threads {args.threads} (regions {args.region_threads}); full detection every "
          f"{args.full_every} frames")
    for k, r in enumerate(rounds):
        print(f"round {k}: extract {r['t_extract']:.2f} s, align {r['t_align']:.2f} s -> "
              f"pipeline {pipeline[k]:.2f} fps; detect {detect[k]:.2f} fps; ratio "
              f"{ratios[k]:.2f}; tracker only {only[k]:.2f} fps")
    print(f"disk per frame: {result['bytes_per_frame']} bytes "
          f"({', '.join(f'{k} {v}' for k, v in result['bytes_per_frame_parts'].items())})")
    print(f"stored faces by search mode {last['modes']}; tracker-only modes "
          f"{last['tracker_only_modes']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
