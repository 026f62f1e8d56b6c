"""The tracker on a 720p clip where the actor is absent most of the time: searching at the actor's
last scale while it is absent (absent_full_every=5; the default is now 50) against all sizes on every
absent frame (absent_full_every=1), in the same run, alternating.

The clip (rendered in memory from the test photographs, 1280 x 720): the actor (obama) for 40
frames, a cut to another person (biden) for 80, a cut to a non-face image for 40, a cut back to the
actor at another scale for 40. Prints both settings' frames per second, the frames where each found
the actor, whether the two agree frame by frame, and the search modes; the last line is JSON.

    .venv/bin/python benchmarks/absent.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # clipmaker: clips from the test photographs

import clipmaker  # noqa: E402
from clipmaker import Shot  # noqa: E402

from feasstm_gui.core.faces.detector import DetectorSettings, FaceDetector  # noqa: E402
from feasstm_gui.core.faces.tracker import ActorTracker, TrackerSettings  # noqa: E402

SHOTS = [Shot("actor", "obama", 40, (190, -3.0, 380, 300), (220, 3.0, 420, 320)),
         Shot("other", "biden", 80, (200, 2.0, 600, 330), (210, -2.0, 640, 340)),
         Shot("none", "rocket", 40, (0, 0, 0, 0), (0, 0, 0, 0)),
         Shot("back", "obama", 40, (330, 4.0, 700, 380), (300, -3.0, 560, 360))]


def run(detector: FaceDetector, frames, every: int):
    tracker = ActorTracker(detector, TrackerSettings(absent_full_every=every))
    t0 = time.perf_counter()
    results = [tracker.step(i, f) for i, f in enumerate(frames)]
    return time.perf_counter() - t0, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    frames, truth = clipmaker.render_clip(SHOTS, (1280, 720))
    detector = FaceDetector(DetectorSettings(device="cpu"))
    detector.detect(frames[0])  # warm up
    times: dict[int, list[float]] = {1: [], 5: []}
    last: dict[int, list] = {}
    for _ in range(args.rounds):
        for every in (1, 5):
            seconds, last[every] = run(detector, frames, every)
            times[every].append(seconds)
    n = len(frames)
    fps = {every: n / statistics.median(t) for every, t in times.items()}
    same = all((a.actor is None) == (b.actor is None)
               and (a.actor is None or a.actor.to_dict(6) == b.actor.to_dict(6))
               for a, b in zip(last[1], last[5]))
    actor_truth = [t["shot"] in ("actor", "back") for t in truth]
    found = {every: [r.actor is not None for r in res] for every, res in last.items()}
    modes = {}
    for every, res in last.items():
        modes[every] = {}
        for r in res:
            modes[every][r.mode] = modes[every].get(r.mode, 0) + 1
    for every in (1, 5):
        print(f"absent_full_every={every}: {fps[every]:.1f} frames/s; actor found on "
              f"{sum(found[every])} of {sum(actor_truth)} actor frames, "
              f"{sum(f and not t for f, t in zip(found[every], actor_truth))} others; "
              f"modes {modes[every]}")
    print(json.dumps({
        "frames": n, "absent_frames": n - sum(actor_truth),
        "fps_all_sizes_when_absent": round(fps[1], 2), "fps_actor_scale_when_absent": round(fps[5], 2),
        "speedup": round(fps[5] / fps[1], 2), "same_faces": same,
        "actor_frames_found": {str(k): sum(v) for k, v in found.items()},
        "actor_frames": sum(actor_truth), "modes": {str(k): v for k, v in modes.items()},
        "rounds": args.rounds}))


if __name__ == "__main__":
    main()
