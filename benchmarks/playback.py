"""The player beside the strip: seek latency and dropped frames on a 720p clip (not a test).

Makes a 1280x720 H.264 clip with an AAC sound track (--seconds long, 25 fps, a keyframe every
--gop frames; each frame shows its index, tests/indexed_clip.py) and a project whose clip is
that video with every frame stored as a 720p JPEG. Opens the main window offscreen with the
player dock showing, then, all inside the application's event loop:

- seeks: --seeks times, a random frame is chosen in the strip (strip.go_to_row); timed from that
  call until the player's screen has painted the frame with that index (seek_ms: the stored
  720p frame, shown at once, or the decoded one, whichever is first) and until the video's own
  decoded frame is painted (decoded_seek_ms). The index is read back from the painted frame: a
  wrong frame counts in wrong_frames, never as done;
- baseline, same run: the same seeks in the player's stored-frames mode (what rating mode did
  before: the stored JPEG decoded and shown);
- playback: --play-s seconds at 1x from frame 0; every frame the screen paints is recorded;
  frames_dropped_pct = frames of the span played that were never painted.

    .venv/bin/python benchmarks/playback.py [--seconds 34] [--seeks 100] [--play-s 30] [--gop 50]

The last line is JSON: seek_ms_p50/p99/max, decoded_seek_ms_p50/p99, baseline_seek_ms_p50/p99
(the stored-frames mode alone),
frames_dropped_pct, frames_painted, frames_expected, wrong_frames. Goals: seek_ms_p99 <= 80,
frames_dropped_pct <= 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return round(v[min(len(v) - 1, max(0, int(round(q * len(v))) - 1))], 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=34.0)
    ap.add_argument("--seeks", type=int, default=100)
    ap.add_argument("--play-s", type=float, default=30.0)
    ap.add_argument("--gop", type=int, default=50)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--keep", action="store_true", help="keep the clip and project made in /tmp")
    args = ap.parse_args()

    from indexed_clip import make_indexed_clip, read_index, video_project
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from feasstm_gui.core.settings import Settings
    from feasstm_gui.ui.main_window import MainWindow

    fps, size = 25.0, (1280, 720)
    n = int(args.seconds * fps)
    tmp = Path(tempfile.mkdtemp(prefix="feasstm-playback-"))
    t0 = time.perf_counter()
    video = make_indexed_clip(tmp / "clip 720p.mp4", n, fps=fps, size=size, gop=args.gop)
    store = video_project(tmp / "project", video, n, fps=fps, stored_size=size)
    print(f"clip: {n} frames 1280x720 H.264 + AAC, keyframe every {args.gop}; project made in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)

    app = QApplication.instance() or QApplication([])
    os.environ.setdefault("FEASSTM_CONFIG_DIR", str(tmp / "config"))
    window = MainWindow(Settings.load(), "bench")
    window.resize(1600, 1000)
    window.show()
    window.set_store(store)
    panel = window.player_panel
    panel.dock.show()
    panel.dock.raise_()
    player, view = panel.player, panel.player.view
    rng = random.Random(args.seed)
    targets = [rng.randrange(n) for _ in range(args.seeks)]
    result: dict = {}
    state: dict = {"phase": "load", "i": 0, "t": 0.0, "times": [], "wrong": 0, "painted": [],
             "decoded": []}

    def wrong(index: int) -> bool:
        got = read_index(view.image())
        if got != index:
            print(f"wrong frame: asked {index}, painted {got} ({view.source})", flush=True)
        return got != index

    def next_seek() -> None:
        i = state["i"]
        if i >= len(targets):
            finish_seeks()
            return
        row = window.strip_model.row_of(panel._id_at[targets[i]])
        state["t"] = time.perf_counter()
        window.strip.go_to_row(row)
        QTimer.singleShot(10_000, lambda k=i: timeout(k))

    def timeout(k: int) -> None:
        if state["phase"] in ("video", "frames") and state["i"] == k:
            print(f"seek to {targets[k]}: not painted within 10 s", flush=True)
            state["wrong"] += 1  # never painted: counted as wrong, and as 10 s
            state["times"].append(10_000.0)
            if state["phase"] == "video":
                state["decoded"].append(10_000.0)
            state["i"] += 1
            next_seek()

    def on_painted(index: int) -> None:
        phase = state["phase"]
        if phase == "load" and index == 0:
            state["phase"] = "video"
            QTimer.singleShot(200, next_seek)
        elif phase in ("video", "frames") and state["i"] < len(targets) \
                and index == targets[state["i"]]:
            ms = (time.perf_counter() - state["t"]) * 1000
            if wrong(index):
                state["wrong"] += 1
            if len(state["times"]) <= state["i"]:
                state["times"].append(ms)  # first paint of the frame (stored or decoded)
            if phase == "frames" or view.source == "video":
                state["decoded"].append(ms)  # the video's own frame on screen
                state["i"] += 1
                QTimer.singleShot(0, next_seek)
        elif phase == "play":
            state["painted"].append(index)

    def finish_seeks() -> None:
        if state["phase"] == "video":
            result["video"] = list(state["times"])
            result["decoded"] = list(state["decoded"])
            result["wrong_video"] = state["wrong"]
            # the same seeks over the stored frames (the fallback; rating mode before)
            state.update(phase="frames", i=0, times=[], wrong=0, decoded=[])
            player._fall_back("")
            player._cache._items.clear()  # no image decoded by the video phase's seeks
            QTimer.singleShot(200, next_seek)
        else:
            result["frames"] = list(state["times"])
            result["wrong_frames"] = state["wrong"]
            window.set_clip(None)
            window.set_clip(store.clips()[0].id)  # the video again
            state["phase"] = "reload"
            QTimer.singleShot(1500, start_play)

    def start_play() -> None:
        player.seek(0)
        QTimer.singleShot(500, go)

    def go() -> None:
        state["phase"] = "play"
        state["t"] = time.perf_counter()
        player.play()
        QTimer.singleShot(int(args.play_s * 1000), stop_play)

    def stop_play() -> None:
        player.pause()
        state["phase"] = "done"
        result["play_wall_s"] = time.perf_counter() - state["t"]
        app.quit()

    view.painted.connect(on_painted)
    QTimer.singleShot(120_000 + int(args.play_s * 2000), app.quit)  # a safety net
    app.exec()

    painted = [i for i in state["painted"]]
    span = (painted[0], painted[-1]) if painted else (0, -1)
    expected = span[1] - span[0] + 1
    unique = len(set(painted))
    dropped = 100.0 * (expected - unique) / expected if expected > 0 else 100.0
    video_ms, frames_ms = result.get("video", []), result.get("frames", [])
    decoded_ms = result.get("decoded", [])
    out = {
        "seek_ms_p50": round(statistics.median(video_ms), 1) if video_ms else None,
        "seek_ms_p99": pct(video_ms, 0.99) if video_ms else None,
        "seek_ms_max": round(max(video_ms), 1) if video_ms else None,
        "seeks": len(video_ms),
        "decoded_seek_ms_p50": round(statistics.median(decoded_ms), 1) if decoded_ms else None,
        "decoded_seek_ms_p99": pct(decoded_ms, 0.99) if decoded_ms else None,
        "baseline_seek_ms_p50": round(statistics.median(frames_ms), 1) if frames_ms else None,
        "baseline_seek_ms_p99": pct(frames_ms, 0.99) if frames_ms else None,
        "frames_dropped_pct": round(dropped, 2),
        "frames_painted": unique, "frames_expected": expected,
        "played_s": round(result.get("play_wall_s", 0.0), 1),
        "wrong_frames": result.get("wrong_video", 0) + result.get("wrong_frames", 0),
        "size": "1280x720", "fps": fps, "gop": args.gop, "sound": player.has_sound,
        "cores": os.cpu_count(), "load_at_end": round(os.getloadavg()[0], 2),
    }
    print(f"seek, frame on screen: p50 {out['seek_ms_p50']} ms, p99 {out['seek_ms_p99']} ms; "
          f"the video's decoded frame: p50 {out['decoded_seek_ms_p50']} ms, p99 "
          f"{out['decoded_seek_ms_p99']} ms; baseline "
          f"(stored frames): p50 {out['baseline_seek_ms_p50']} ms, p99 "
          f"{out['baseline_seek_ms_p99']} ms; playback: {unique} of {expected} frames painted "
          f"({out['frames_dropped_pct']} % dropped) in {out['played_s']} s")
    window.close()
    store.close()
    if args.keep:
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
