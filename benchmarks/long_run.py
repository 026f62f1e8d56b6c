"""A long alignment run holds memory and time flat: align_clip over N frames (default 10,000).

    .venv/bin/python benchmarks/long_run.py [--frames 10000] [--size 320x240] [--distinct 400]
                                            [--sample 500] [--device cpu]

The clip is made from the real photographs in tests/data with the clipmaker: `--distinct` frames
of the actor (a slow pan, zoom and roll over obama.jpg; two blurred frames and a non-face image
spliced in), rendered at `--size` and written once as JPEG; the
project's N frames are hard links to them, forth and back (the clip repeats), added to a fresh
project as extracted frames. Extraction is not timed;
the align job reads every frame from disk, detects, tracks, aligns, scores, writes a crop and
commits per frame, exactly as `feasstm align` does.

Every `--sample` frames it records the process's resident memory (RSS, from /proc) and the
seconds per frame since the last sample, with the load average (the machine may be shared: a
slow sample under a high load is someone else's work). "start" is after the first sample (the detector's model
and torch are loaded by then); rss_growth_mb_per_1000 is the least-squares slope of RSS over the
frames after that. Prints the conditions and the samples, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import clipmaker  # noqa: E402

from feasstm_gui import __version__  # noqa: E402
from feasstm_gui.core.ingest.pipeline import align_clip  # noqa: E402
from feasstm_gui.core.store import Clip, Store  # noqa: E402

CLIP = "长 片段"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def build(folder: Path, n_frames: int, distinct: int, size: tuple[int, int]) -> Store:
    store = Store.create(folder, annotator="bench", name="long run")
    store.add_clip(Clip(CLIP, source="video", extract_status="done"))
    w, h = size
    side = 0.38 * h  # the actor's face fills a good part of the frame, as in a close shot
    shots = [  # the actor only: a slow pan, zoom and roll, two blurred frames, a splice
        clipmaker.Shot("pan", "obama", distinct, (side, -4.0, 0.42 * w, 0.45 * h),
                       (side * 1.15, 5.0, 0.58 * w, 0.52 * h),
                       blur={distinct // 4: "gaussian", distinct // 2: "motion"},
                       splice={3 * distinct // 4: "coffee"}),
    ]
    picked, _ = clipmaker.render_clip(shots, size=size)
    seeds = folder / "seeds"
    seeds.mkdir()
    for i, img in enumerate(picked):
        cv2.imwrite(str(seeds / f"{i:06d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    out = folder / "frames" / CLIP
    out.mkdir(parents=True)
    rows = []
    for i in range(n_frames):
        dst = out / f"{i:06d}.jpg"
        k = i % (2 * distinct)  # forth and back, so the motion stays smooth at the turns
        src = seeds / f"{k if k < distinct else 2 * distinct - 1 - k:06d}.jpg"
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        rows.append((i, i * 40.0, f"frames/{CLIP}/{i:06d}.jpg", None))
    store.add_frames(CLIP, rows)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--distinct", type=int, default=400)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    base = args.dir or Path(tempfile.mkdtemp(prefix="long run "))
    folder = base / "长 运行" / "项目"
    import torch

    print(f"FEASSTM Studio {__version__}, Python {platform.python_version()}, torch "
          f"{torch.__version__}, OpenCV {cv2.__version__}, {platform.platform()}, "
          f"{os.cpu_count()} CPUs, device {args.device}")
    print(f"{args.frames} frames of {size[0]}x{size[1]} ({args.distinct} distinct, hard-linked), "
          f"sampled every {args.sample}")
    try:
        t = time.monotonic()
        store = build(folder, args.frames, args.distinct, size)
        print(f"project built in {time.monotonic() - t:.1f} s")
        rss0 = rss_mb()
        samples: list[tuple[int, float, float]] = []  # (frames done, rss MB, s per frame)
        loads: list[float] = []  # the machine is shared: a slow sample may be someone else's load
        job = align_clip(store, CLIP, device=args.device)
        start = last_t = time.monotonic()
        last_n = 0
        try:
            while True:
                p = next(job)
                if p.done % args.sample == 0 or p.done == args.frames:
                    now = time.monotonic()
                    samples.append((p.done, rss_mb(), (now - last_t) / max(1, p.done - last_n)))
                    loads.append(os.getloadavg()[0])
                    print(f"  {p.done:>6} frames  rss {samples[-1][1]:7.1f} MB  "
                          f"{samples[-1][2] * 1000:6.1f} ms/frame  load {loads[-1]:.1f}",
                          flush=True)
                    last_t, last_n = now, p.done
        except StopIteration as stop:
            result = stop.value
        total_s = time.monotonic() - start
        faces = sum(1 for f in store.frames(CLIP) if f.crop)
        store.close()
        db_mb = (folder / "project.sqlite").stat().st_size / 2**20
    finally:
        shutil.rmtree(base if args.dir is None else folder.parent, ignore_errors=True)
    after = samples[1:] if len(samples) > 2 else samples
    n = len(after)
    mx = sum(s[0] for s in after) / n
    my = sum(s[1] for s in after) / n
    var = sum((s[0] - mx) ** 2 for s in after)
    slope = (sum((s[0] - mx) * (s[1] - my) for s in after) / var * 1000) if var else 0.0
    out = {
        "frames": args.frames,
        "size": f"{size[0]}x{size[1]}",
        "device": args.device,
        "faces": faces,
        "rss_mb_before_job": round(rss0, 1),
        "rss_mb_start": round(samples[0][1], 1),
        "rss_mb_end": round(samples[-1][1], 1),
        "rss_mb_max_sampled": round(max(s[1] for s in samples), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_growth_mb_per_1000": round(slope, 2),
        "ms_per_frame_first": round(samples[0][2] * 1000, 1),
        "ms_per_frame_second": round(samples[1][2] * 1000, 1) if len(samples) > 1 else None,
        "ms_per_frame_last": round(samples[-1][2] * 1000, 1),
        "ms_per_frame_median": round(sorted(x[2] for x in samples)[len(samples) // 2] * 1000, 1),
        "load_avg_max": round(max(loads), 1),
        "align_seconds": round(total_s, 1),
        "db_mb": round(db_mb, 1),
        "problems": len(result.problems) if result else 0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
