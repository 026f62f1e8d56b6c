"""Label-key latency in the window while a face job runs on the worker (not a test).

Builds the sample project (`feasstm sample`) and adds a 1280x720 clip of --frames frames (the
align benchmark's clip), opens the main window offscreen on a sample clip, then presses label keys
(4 and 7 in turn, --gap-ms apart) on the strip: --presses while nothing runs, then as many as fit
while "Extract and align" runs on the 720p clip. A press is timed from the key event until the
edit is committed, the strip and the preview updated and pending events processed. Everything
runs inside the application's event loop (a test's blocking waits would starve the worker). Also times
the store call alone (set_labels), to tell the database's share from the rest.

    .venv/bin/python benchmarks/keys_during_job.py [--frames 1200] [--presses 150] [--gap-ms 150]
                                                      [--no-keys]

The last line is JSON: key_p50_ms / key_p99_ms / key_max_ms idle and during the job.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))


def percentiles(values: list[float]) -> dict[str, float]:
    v = sorted(values)
    return {"n": len(v), "p50_ms": round(statistics.median(v), 1),
            "p99_ms": round(v[max(0, int(0.99 * len(v)) - 1)], 1), "max_ms": round(v[-1], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1200)
    ap.add_argument("--presses", type=int, default=150)
    ap.add_argument("--gap-ms", type=int, default=150,
                    help="time between presses (150: a fast annotator)")
    ap.add_argument("--no-keys", action="store_true", help="only time the job, no presses")
    args = ap.parse_args()

    import align as align_bench
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    os.environ.setdefault("FEASSTM_CONFIG_DIR", tempfile.mkdtemp(prefix="feasstm-bench-config"))
    from feasstm_gui.core.settings import Settings
    from feasstm_gui.core.store import Clip, Store
    from feasstm_gui.ui import pipeline_adapter
    from feasstm_gui.ui.job_control import JobTarget
    from feasstm_gui.ui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="feasstm 键 "))
    video = tmp / "长 片段.mp4"
    align_bench.build_clip(video, args.frames)
    subprocess.run([sys.executable, "-m", "feasstm_gui.cli", "sample", str(tmp / "样例")],
                   check=True, capture_output=True)
    store = Store.open(tmp / "样例", annotator="benchmark")
    store.add_clip(Clip("长 片段", video=str(video)))
    window = MainWindow(Settings.load(), "benchmark")
    window.resize(1280, 800)
    window.show()
    window.set_store(store)
    window.clip_view.setCurrentIndex(window.clip_model.index(0))
    app.processEvents()
    strip = window.strip
    strip.setFocus()
    strip.go_to_row(0)

    store_ms: list[float] = []
    real = store.set_labels

    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            store_ms.append((time.perf_counter() - t) * 1000)

    store.set_labels = timed  # type: ignore[method-assign]

    def strip_row(frame) -> int:
        return window.strip_model.row_of(frame.id) or 0

    # Everything runs inside app.exec(), as in the application: a blocking wait in the GUI
    # thread (QTest.qWait) holds the GIL and starves the worker (30 times slower jobs).
    idle: list[float] = []
    busy: list[float] = []
    idle_store: list[float] = []
    marks: dict[str, float] = {}

    def one_press() -> None:
        job_running = window.runner.busy
        if "job_start" in marks and not job_running:
            marks["job_end"] = time.perf_counter()
            timer.stop()
            app.quit()
            return
        if args.no_keys and "job_start" in marks:
            return
        t = time.perf_counter()
        QTest.keyClick(strip, (Qt.Key.Key_4, Qt.Key.Key_7)[len(idle + busy) % 2])
        app.processEvents()
        (busy if job_running else idle).append((time.perf_counter() - t) * 1000)
        current = strip.current_frame()
        if current is not None and strip_row(current) >= strip.model().rowCount() - 2:
            strip.go_to_row(0)
        if "job_start" not in marks and len(idle) >= args.presses:
            idle_store.extend(store_ms)
            store_ms.clear()
            marks["job_start"] = time.perf_counter()
            window.start_job("Extract and align",
                             lambda: pipeline_adapter.process_job(store, ["长 片段"]),
                             JobTarget.new_clips())

    timer = QTimer()
    timer.timeout.connect(one_press)
    timer.start(args.gap_ms)
    app.exec()
    busy_store = list(store_ms)
    job_s = marks["job_end"] - marks["job_start"]
    window.close()
    result = {"job_s": round(job_s, 2), "job_fps": round(args.frames / job_s, 1),
              "idle": percentiles(idle), "during_job": percentiles(busy) if busy else None,
              "store_idle": percentiles(idle_store), "store_during_job": percentiles(busy_store) if busy_store else None,
              "gap_ms": args.gap_ms,
              "frames": args.frames, "cores": os.cpu_count(),
              "load_at_end": round(os.getloadavg()[0], 2)}
    print(f"job: {result['job_s']} s ({result['job_fps']} frames/s); idle: {result['idle']}; "
          f"during the job: {result['during_job']}")
    print(f"store.set_labels idle: {result['store_idle']}; during: {result['store_during_job']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
