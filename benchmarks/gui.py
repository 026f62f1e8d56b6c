"""How fast the labelling workstation is on a big project (not a test).

Builds a project of N frames (default 100,000 in one clip: the worst case for the strip) whose
crops and frames are hard links to a few real photographs from tests/data, resized to 100x100
crops and 480-pixel frames, then measures:

- open_s: Store.open until the strip of the clip has been painted (thumbnails may still load);
  open_thumbs_s: until the visible thumbnails are painted too;
- key_p50_ms / key_p99_ms: a label key press (QTest.keyClick on the strip) until the edit is
  committed, the changed rows re-read, the strip repainted and the preview updated, over
  --presses presses;
- open_cpu_s, key_cpu_p50_ms / key_cpu_p99_ms: the same, as the CPU time of the window's
  thread itself (on a shared machine, what the window did rather than how long it waited for
  a core; work moved to another thread is not in it);
- rss_mb: resident memory after scrolling the whole strip page by page (peak_rss_mb too);
- window_s: process start until the main window is shown, in a fresh subprocess
  (`python -m feasstm_gui --exit-when-shown`), the first of --window-runs runs.

Prints its conditions, then one JSON line. Goals: open_s <= 1.5, key_p99_ms <= 16,
rss_mb <= 600, window_s <= 2.

With more than one clip (issue 19: `--frames 1000000 --clips 16000`) the project is built by
benchmarks/scale_project.py (plain SQL, hard links; clips unlabelled, in progress, done, with
deleted frames; a second annotator on every other clip) and it also measures, with the focus
where an annotator's would be:
- clip_switch_p50_ms / clip_switch_p99_ms: Down in the clip list until the next clip's strip is
  painted, over --switches clips;
- search_p50_ms / search_p99_ms: one key typed in the clip search box until the list is
  filtered and painted (--searches names typed a key at a time, each cleared with Esc);
  search_cpu_p50_ms / search_cpu_p99_ms: the window thread's CPU time over the same span
  (on a shared machine the wall times follow the load, these much less);
- counts_s: open until every clip's counts are read (they are read off the window's thread);
  state_filter_ms: choosing the state "Done" until the list is painted;
- review_first_page_s: the Review tab (code 1 across all clips) until its grid is painted;
- agreement_first_page_s: opening the agreement panel until it is painted (the statistics are
  computed on a worker meanwhile).
Goals (issue 19): open_s <= 2, clip_switch_p99_ms <= 150, key_p99_ms <= 16, rss_mb <= 800,
search_p99_ms <= 50, first pages <= 1 s. A window without the clip filter bar (an older
version, PYTHONPATH pointing at it, for a baseline) gets null for the search figures.

    PYTHONPATH=. .venv/bin/python benchmarks/gui.py [--frames 100000] [--clips 1] [--presses 1500]
    PYTHONPATH=. .venv/bin/python benchmarks/gui.py --frames 1000000 --clips 16000 --keep DIR
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "faces"
PHOTOS = ("obama", "obama2", "astronaut", "camera", "messi5")


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    cur = peak = 0.0
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cur, peak


def base_images(folder: Path) -> list[tuple[Path, Path, tuple[int, int]]]:
    import cv2

    out = []
    folder.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        src = next(DATA.glob(f"{name}.*"))
        img = cv2.imread(str(src))
        h, w = img.shape[:2]
        s = 480 / max(h, w)
        frame = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        side = min(h, w)
        y0, x0 = (h - side) // 2, (w - side) // 2
        crop = cv2.resize(img[y0:y0 + side, x0:x0 + side], (100, 100),
                          interpolation=cv2.INTER_AREA)
        fp, cp = folder / f"{name}_frame.jpg", folder / f"{name}_crop.jpg"
        cv2.imwrite(str(fp), frame)
        cv2.imwrite(str(cp), crop)
        out.append((cp, fp, (frame.shape[1], frame.shape[0])))
    return out


def link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def build(folder: Path, n_frames: int, n_clips: int) -> float:
    """The project, in big transactions (store/views.bulk_add_frames). Returns seconds."""
    from feasstm_gui.core.store import Clip, Store
    from feasstm_gui.core.store.views import bulk_add_frames

    t = time.perf_counter()
    bases = base_images(folder.parent / "bases")
    store = Store.create(folder, annotator="bench", name="benchmark 100k")
    per_clip = n_frames // n_clips
    for c in range(n_clips):
        clip_id = f"片段 {c + 1:03d}"
        store.add_clip(Clip(id=clip_id, work="作品", actor=f"演员 {c}", group="A"))
        (folder / "crops" / clip_id).mkdir(parents=True)
        (folder / "frames" / clip_id).mkdir(parents=True)
        rows = []
        for i in range(per_clip):
            crop, frame, (w, h) = bases[i % len(bases)]
            cp = f"crops/{clip_id}/{i:06d}.jpg"
            fp = f"frames/{clip_id}/{i:06d}.jpg"
            link(crop, folder / cp)
            link(frame, folder / fp)
            box = [w * 0.3, h * 0.2, w * 0.7, h * 0.6]
            lms = [[w * 0.42, h * 0.36], [w * 0.58, h * 0.36], [w * 0.5, h * 0.44],
                   [w * 0.44, h * 0.52], [w * 0.56, h * 0.52]]
            rows.append((i, i * 40.0, fp, cp, box, lms, 0.9 + (i % 100) / 1000,
                         50.0 + (i * 37) % 200))
        bulk_add_frames(store, clip_id, rows)
        # some labels and flags, so the strip has colour bands and badges to paint
        ids = [r[0] for r in store.db.query("SELECT id FROM frames WHERE clip=? ORDER BY "
                                            "frame_index LIMIT ?", (clip_id, per_clip // 2))]
        for code in range(1, 8):
            store.import_labels([(f, code) for f in ids[code * 3000 % max(1, len(ids)):][::97]],
                                "benchmark set-up")
    store.close()
    return time.perf_counter() - t


def wait_painted(app, view, timeout: float = 30.0) -> None:
    from PySide6.QtCore import QEvent, QObject

    painted = []

    class Spy(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802
            if ev.type() == QEvent.Type.Paint:
                painted.append(1)
            return False

    spy = Spy()
    target = view.viewport() if hasattr(view, "viewport") else view
    target.installEventFilter(spy)
    end = time.monotonic() + timeout
    while not painted and time.monotonic() < end:
        app.processEvents()
    target.removeEventFilter(spy)


def visible_rows(view) -> range:
    """The rows whose items intersect the viewport (uniform items: first to last visible)."""
    rect = view.viewport().rect()
    first = view.indexAt(rect.topLeft() + rect.topLeft().__class__(4, 4))
    lo = first.row() if first.isValid() else 0
    hi = lo
    n = view.model().rowCount()
    while hi + 1 < n and view.visualRect(view.model().index(hi + 1)).intersects(rect):
        hi += 1
    return range(lo, hi + 1)


def visible_ready(window) -> bool:
    from feasstm_gui.ui.strip import ThumbStateRole

    model = window.strip_model
    return all(model.index(r).data(ThumbStateRole) != "loading"
               for r in visible_rows(window.strip))


def percentile(times: list[float], q: float) -> float:
    times = sorted(times)
    return times[min(len(times) - 1, max(0, int(round(q * len(times))) - 1))]


def timed_paint(app, view, action) -> float:
    """ms from `action()` until `view` has painted."""
    t0 = time.perf_counter()
    action()
    wait_painted(app, view, 10.0)
    return (time.perf_counter() - t0) * 1000


def type_char(widget, ch: str) -> None:
    """One key typed into `widget`, as a keyboard or an input method sends it (QTest's key
    clicks know ASCII only)."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    key = ord(ch.upper()) if ch.isascii() and ch.isalnum() else Qt.Key.Key_unknown
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch))


def kept(model) -> int:
    """The clips the list's filter keeps (a newer list lists the first ones at once and the
    rest when the typing pauses: shown_count; an older one: its rows)."""
    return model.shown_count() if hasattr(model, "shown_count") else model.rowCount()


def scale_measures(app, window, store, args) -> dict:
    """The many-clip figures (module docstring)."""
    import random

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    out: dict = {}
    rng = random.Random(19)
    # clip switches: Down in the clip list
    view = window.clip_view
    view.setFocus()
    app.processEvents()
    switches = []
    for _ in range(args.switches):
        before = window.clip_id
        switches.append(timed_paint(app, window.strip,
                                    lambda: QTest.keyClick(view, Qt.Key.Key_Down)))
        assert window.clip_id != before, "Down in the clip list did not change the clip"
    out["switches"] = len(switches)
    out["clip_switch_p50_ms"] = round(statistics.median(switches), 1)
    out["clip_switch_p99_ms"] = round(percentile(switches, 0.99), 1)
    out["clip_switch_max_ms"] = round(max(switches), 1)

    bar = getattr(getattr(window, "clip_list", None), "bar", None)
    if bar is not None:
        from scale_project import clip_name

        search = bar.search
        search.setFocus()
        app.processEvents()
        times, cpu, shown = [], [], []
        for _ in range(args.searches):
            name = clip_name(rng.randrange(args.clips))
            for ch in name:
                # until the list is painted; a key that leaves the list as it was: until the
                # search box is
                before = window.clip_model.rows()  # a new list when the rows change
                t0, c0 = time.perf_counter(), time.thread_time()
                type_char(search, ch)
                same = window.clip_model.rows() is before
                wait_painted(app, search if same else view, 10.0)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.thread_time() - c0) * 1000)
            shown.append(kept(window.clip_model))
            QTest.keyClick(search, Qt.Key.Key_Escape)
            app.processEvents()
        out["search_keys"] = len(times)
        out["search_p50_ms"] = round(statistics.median(times), 2)
        out["search_p99_ms"] = round(percentile(times, 0.99), 2)
        out["search_max_ms"] = round(max(times), 2)
        out["search_cpu_p50_ms"] = round(statistics.median(cpu), 2)
        out["search_cpu_p99_ms"] = round(percentile(cpu, 0.99), 2)
        out["search_found_one"] = sum(1 for n in shown if n == 1)
        t = time.perf_counter()
        end = time.monotonic() + 600
        while window.clip_list.filler.running and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.002)
        out["counts_wait_s"] = round(time.perf_counter() - t, 2)
        i = bar.state.findData("done")
        out["state_filter_ms"] = round(timed_paint(app, view,
                                                   lambda: bar.state.setCurrentIndex(i)), 1)
        out["state_done_clips"] = kept(window.clip_model)
        bar.state.setCurrentIndex(0)
        app.processEvents()
    else:
        out.update({k: None for k in ("search_p50_ms", "search_p99_ms", "state_filter_ms")})

    out["rss_before_review_mb"] = round(rss_mb()[0], 1)
    # the review grid across all clips, first page
    t = time.perf_counter()
    window.tabs.setCurrentIndex(1)
    wait_painted(app, window.review, 60.0)
    out["review_first_page_s"] = round(time.perf_counter() - t, 3)
    out["review_rows"] = window.review_model.rowCount()
    window.tabs.setCurrentIndex(0)
    app.processEvents()
    return out


def agreement_first_page(app, window, store) -> dict:
    """The agreement panel, until painted (it reads and computes on the window's worker
    meanwhile: measured last, as that goes on for minutes on a million labels)."""
    from feasstm_gui.ui.agreement_panel import open_agreement_panel

    t = time.perf_counter()
    panel = open_agreement_panel(window, store, window.runner)
    wait_painted(app, panel, 300.0)
    out = {"agreement_first_page_s": round(time.perf_counter() - t, 3)}
    t = time.perf_counter()
    while window.runner.busy and time.perf_counter() - t < 5:
        app.processEvents()
        time.sleep(0.01)
    out["agreement_status_after_5s"] = panel.status.text()[:80]
    return out


def wait_layout(app, view, timeout: float = 60.0) -> float:
    """Wait for the batched layout to place every item (the scroll range stops growing)."""
    t = time.perf_counter()
    bar = view.verticalScrollBar()
    last, stable = -1, 0
    end = time.monotonic() + timeout
    while stable < 20 and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
        stable = stable + 1 if bar.maximum() == last else 0
        last = bar.maximum()
    return time.perf_counter() - t


def measure_window(runs: int) -> list[float]:
    out = []
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    for _ in range(runs):
        t0 = time.time()
        proc = subprocess.run([sys.executable, "-m", "feasstm_gui", "--exit-when-shown"],
                              capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("shown ")), None)
        if proc.returncode != 0 or line is None:
            raise SystemExit(f"window run failed: {proc.stderr[-2000:]}")
        out.append(float(line.split()[1]) - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--clips", type=int, default=1)
    ap.add_argument("--presses", type=int, default=1500)
    ap.add_argument("--window-runs", type=int, default=3)
    ap.add_argument("--keep", help="build the project here and keep it")
    ap.add_argument("--switches", type=int, default=200, help="many clips: clip switches")
    ap.add_argument("--searches", type=int, default=20, help="many clips: names searched")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="feasstm bench 基准 "))
    folder = Path(args.keep) if args.keep else tmp / "项目 100k"
    try:
        if (folder / "project.sqlite").exists():
            build_s = 0.0
        elif args.clips > 1:
            from scale_project import build_scale

            bases = base_images(folder.parent / "bases")
            build_s = build_scale(folder, args.frames, args.clips, [b[0] for b in bases],
                                  [(b[1], b[2]) for b in bases])["build_s"]
        else:
            build_s = build(folder, args.frames, args.clips)

        import PySide6
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication

        os.environ["FEASSTM_CONFIG_DIR"] = str(tmp / "config")
        os.environ["FEASSTM_ANNOTATOR"] = "bench"
        app = QApplication.instance() or QApplication([])
        from feasstm_gui.core.settings import Settings
        from feasstm_gui.core.store import Store
        from feasstm_gui.ui.main_window import MainWindow

        window = MainWindow(Settings.load(), "bench")
        window.resize(1400, 880)
        window.show()
        app.processEvents()
        window.activateWindow()
        app.processEvents()

        t = time.perf_counter()
        open_cpu = time.thread_time()  # the window's thread's own CPU (a shared machine)
        store = Store.open(folder, annotator="bench", backup=False)
        window.set_store(store)
        wait_painted(app, window.strip)
        open_s = time.perf_counter() - t
        open_cpu = time.thread_time() - open_cpu
        end = time.monotonic() + 30
        while not visible_ready(window) and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.001)
        app.processEvents()
        open_thumbs_s = time.perf_counter() - t
        rows_shown = window.strip_model.rowCount()

        layout_s = wait_layout(app, window.strip)

        # key presses: label, commit, re-read the changed rows, repaint, advance
        window.strip.setFocus()
        window.strip.go_to_row(0)
        app.processEvents()
        keys = [Qt.Key.Key_1 + (i % 7) for i in range(args.presses)]
        times, key_cpu = [], []  # wall and the window thread's CPU, ms
        for key in keys:
            t0 = time.perf_counter()
            c0 = time.thread_time()
            QTest.keyClick(window.strip, key)
            app.processEvents()
            times.append((time.perf_counter() - t0) * 1000)
            key_cpu.append((time.thread_time() - c0) * 1000)
        labelled = store.db.one("SELECT COUNT(*) FROM edits WHERE annotator='bench' AND "
                                "state='done'")[0]
        times.sort()
        key_cpu.sort()
        key_p50 = statistics.median(times)
        key_p99 = times[min(len(times) - 1, int(round(0.99 * len(times))) - 1)]

        scale = scale_measures(app, window, store, args) if args.clips > 1 else {}

        # scroll the whole strip, page by page
        bar = window.strip.verticalScrollBar()
        step = max(1, bar.pageStep())
        t = time.perf_counter()
        pages = 0
        value = 0
        while True:
            bar.setValue(value)
            app.processEvents()
            pages += 1
            if value >= bar.maximum():
                break
            value = min(bar.maximum(), value + step)
        scroll_s = time.perf_counter() - t
        window.thumbs.wait(10_000)
        app.processEvents()
        rss, peak = rss_mb()
        cache_mb = window.thumbs.cached_bytes / 2**20
        window_runs = measure_window(args.window_runs)
        if args.clips > 1:  # last: its computation goes on in the window's worker
            scale.update(agreement_first_page(app, window, store))
        else:
            window.close()
            app.processEvents()
        result = {
            "frames": args.frames, "clips": args.clips, "build_s": round(build_s, 2),
            "open_s": round(open_s, 3), "open_thumbs_s": round(open_thumbs_s, 3),
            "rows_shown": rows_shown, "layout_rest_s": round(layout_s, 2),
            "presses": len(times), "key_p50_ms": round(key_p50, 2),
            "key_p99_ms": round(key_p99, 2), "key_max_ms": round(times[-1], 2),
            "open_cpu_s": round(open_cpu, 3), "key_cpu_p50_ms": round(percentile(key_cpu, 0.5), 2),
            "key_cpu_p99_ms": round(percentile(key_cpu, 0.99), 2),
            "edits_committed": labelled,
            "scroll_pages": pages, "scroll_s": round(scroll_s, 2),
            "rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1),
            "thumb_cache_mb": round(cache_mb, 1),
            "window_s": round(window_runs[0], 3),
            "window_runs_s": [round(x, 3) for x in window_runs],
            **scale,
        }
        print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, Python "
              f"{platform.python_version()}, PySide6 {PySide6.__version__}, SQLite "
              f"{sqlite3.sqlite_version}, Qt platform {app.platformName()}")
        print(f"feasstm_gui from {Path(sys.modules['feasstm_gui'].__file__).parent}")
        print(f"project: {args.frames} frames in {args.clips} clip(s), 100x100 JPEG crops "
              f"(hard links to {len(PHOTOS)} photographs), window 1400x880")
        print(json.dumps(result), flush=True)
        if args.clips > 1:  # leave the agreement statistics' computation behind
            shutil.rmtree(tmp, ignore_errors=True)  # with --keep the project is not in it
            os._exit(0)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # with --keep the project is not in it


if __name__ == "__main__":
    raise SystemExit(main())
