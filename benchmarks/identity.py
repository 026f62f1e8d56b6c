"""The actor across cuts by face identity: recall and precision of the actor's frames, and what
the face descriptors cost, on a clip cut between the actor and other people.

The clip (rendered in memory from the test photographs, 640 x 480, 25 fps, 250 frames): the actor
(obama.jpg) in a wide shot, a cut to another person (biden.jpg), the actor in another photograph
(obama2.jpg: other light, framing, expression) in a medium shot, a cutaway to a third person
(astronaut.png), the actor beside the other person, a non-face image, the actor again (obama.jpg,
closer). One designation: a reference photo of the actor (obama.jpg's face, given as the project's
reference) -- `--auto` instead takes the largest face of the first frame, no designation at all.

Both runs in the same process, alternating (each goes first every other round): the tracker with identity (the default settings) and
without (identity=False: every shot takes its largest face, no descriptors). Prints frames per
second, recall (actor's frames kept / actor's frames) and precision (kept frames that show the
actor's face / kept frames) of each; the last line is JSON with actor_recall, actor_precision,
fps_with_identity, fps_without, identity_cost (1 - fps_with / fps_without), and the same from the
process's CPU time (cpu_fps_*, identity_cost_cpu: steadier when other jobs share the cores, as
wall-clock time counts their work too), and the CPU time spent computing descriptors in the run
with identity (descriptor_cpu_s, descriptor_cpu_share: its part of that run's CPU time; not
subject to the whole-frame detections' variation under load, which both runs share).

`--descriptor dlib` runs the descriptor network with dlib's own code instead of torch
(identity.RUNTIME; the same descriptors, about six times the CPU time).

    .venv/bin/python benchmarks/identity.py [--rounds 2] [--auto] [--descriptor torch|dlib]
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
sys.path.insert(0, str(ROOT))

import clipmaker  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from clipmaker import Shot  # noqa: E402

from feasstm_gui.core.faces import identity  # noqa: E402
from feasstm_gui.core.faces.detector import DetectorSettings, FaceDetector  # noqa: E402
from feasstm_gui.core.faces.tracker import ActorTracker, TrackerSettings  # noqa: E402

SHOTS = [Shot("wide", "obama", 50, (110, -3.0, 260, 220), (130, 3.0, 330, 240)),
         Shot("other", "biden", 30, (170, 2.0, 330, 220), (160, -2.0, 300, 230)),
         Shot("medium", "obama2", 50, (170, 0.0, 320, 230), (150, 3.0, 360, 220)),
         Shot("cutaway", "astronaut", 25, (160, 0.0, 320, 240), (170, 2.0, 330, 235)),
         Shot("two", "obama2", 40, (120, 0.0, 160, 210), (126, 2.0, 170, 216),
              right="biden", right_pose=(130, 0.0, 480, 215)),
         Shot("none", "rocket", 10, (0, 0, 0, 0), (0, 0, 0, 0)),
         Shot("close", "obama", 45, (200, 2.0, 330, 250), (215, -2.0, 320, 245))]
ACTOR = "obama"


def who(det, faces) -> str | None:
    if det is None:
        return None
    for f in faces:
        if np.hypot(det.center[0] - f["center"][0], det.center[1] - f["center"][1]) < 0.4 * f["side"]:
            return f["person"]
    return "?"


DESCRIBING = {"cpu": 0.0}  # CPU seconds spent in identity.embed (the tracker waits for it)
_embed = identity.embed


def _timed_embed(*args, **kwargs):
    c0 = time.process_time()
    try:
        return _embed(*args, **kwargs)
    finally:
        DESCRIBING["cpu"] += time.process_time() - c0


def run(detector, frames, settings, refs):
    tracker = ActorTracker(detector, settings, references=refs)
    DESCRIBING["cpu"] = 0.0
    identity.embed = _timed_embed
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        results = [tracker.step(i, f) for i, f in enumerate(frames)]
        return (time.perf_counter() - t0, time.process_time() - c0, results,
                DESCRIBING["cpu"])
    finally:
        identity.embed = _embed


def scores(results, truth):
    actor_frames = sum(1 for t in truth if t["actor"])
    kept = [(r, t) for r, t in zip(results, truth) if r.actor is not None]
    right = sum(1 for r, t in kept if who(r.actor, t["faces"]) == ACTOR)
    return (right / actor_frames if actor_frames else 1.0,
            right / len(kept) if kept else 1.0, len(kept), right, actor_frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--auto", action="store_true", help="no reference photo: automatic choice")
    ap.add_argument("--descriptor", choices=("torch", "dlib"), default=identity.RUNTIME,
                    help="what runs the descriptor network (identity.RUNTIME)")
    args = ap.parse_args()
    identity.RUNTIME = args.descriptor
    frames, truth = clipmaker.render_clip(SHOTS, (640, 480))
    detector = FaceDetector(DetectorSettings(device="cpu"))
    refs = []
    designations = 0
    if not args.auto:
        photo = cv2.imread(str(ROOT / "tests" / "data" / "faces" / "obama.jpg"))
        face = detector.detect(photo)[0]
        refs = [identity.encode(identity.embed(photo, face))]
        designations = 1
    detector.detect(frames[0])  # warm up both
    identity.embed(frames[0], detector.detect(frames[0])[0])
    times = {"with": [], "without": []}
    cpu = {"with": [], "without": []}
    describing = {"with": [], "without": []}
    last = {}
    runs = [("with", TrackerSettings()), ("without", TrackerSettings(identity=False))]
    for k in range(args.rounds):
        for name, settings in (runs if k % 2 == 0 else runs[::-1]):  # each goes first in turn
            dt, dc, results, de = run(detector, frames, settings, refs if name == "with" else [])
            times[name].append(dt)
            cpu[name].append(dc)
            describing[name].append(de)
            last[name] = results
    n = len(frames)
    fps_with = n / statistics.median(times["with"])
    fps_without = n / statistics.median(times["without"])
    cpu_with = n / statistics.median(cpu["with"])
    cpu_without = n / statistics.median(cpu["without"])
    rec, prec, kept, right, actor_frames = scores(last["with"], truth)
    rec0, prec0, kept0, right0, _ = scores(last["without"], truth)
    embedded = sum(r.embedded for r in last["with"])
    print(f"clip: {n} frames, {actor_frames} show the actor, {len(SHOTS)} shots; "
          f"designations: {designations}")
    print(f"with identity:    {fps_with:6.2f} frames/s, kept {kept}, of the actor {right}: "
          f"recall {rec:.3f}, precision {prec:.3f}; {embedded} descriptors")
    print(f"without identity: {fps_without:6.2f} frames/s, kept {kept0}, of the actor {right0}: "
          f"recall {rec0:.3f}, precision {prec0:.3f}")
    print(f"CPU time: {cpu_with:6.2f} frames per CPU second with identity, {cpu_without:6.2f} "
          f"without")
    desc_cpu = statistics.median(describing["with"])
    desc_share = desc_cpu / statistics.median(cpu["with"])
    print(f"descriptors ({args.descriptor}): {desc_cpu:.2f} CPU s of the run with identity "
          f"({desc_share:.3f} of its CPU time)")
    for r, t in zip(last["with"], truth):
        got = who(r.actor, t["faces"])
        if (got == ACTOR) != t["actor"]:
            print(f"  frame {r.frame_index} ({t['shot']}): kept {got}, status {r.status}")
    print(json.dumps({"actor_recall": round(rec, 4), "actor_precision": round(prec, 4),
                      "fps_with_identity": round(fps_with, 2), "fps_without": round(fps_without, 2),
                      "identity_cost": round(1 - fps_with / fps_without, 4),
                      "cpu_fps_with_identity": round(cpu_with, 2),
                      "cpu_fps_without": round(cpu_without, 2),
                      "identity_cost_cpu": round(1 - cpu_with / cpu_without, 4),
                      "descriptors": embedded, "descriptor_runtime": args.descriptor,
                      "descriptor_cpu_s": round(desc_cpu, 3),
                      "descriptor_cpu_share": round(desc_share, 4),
                      "designations": designations, "frames": n,
                      "recall_without": round(rec0, 4), "precision_without": round(prec0, 4)}))


if __name__ == "__main__":
    main()
