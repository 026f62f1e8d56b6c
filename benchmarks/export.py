"""Export and verify a project the size of the published FEASSTM-FAF (22,213 crops).

    .venv/bin/python benchmarks/export.py [--images 22213] [--clips 94] [--dir DIR] [--keep]

Builds the project first (not timed): a few real 100x100 JPEG crops made from tests/data are
hard-linked (or copied) into the project's crops/ folder, and the rows are inserted in large
transactions. Then times `feasstm status --json` on it (status_s: a fresh process, as a user
runs it), `plan_export` + the export job (hard links, the default), the same with copies
(export_copy_s; skipped above 100,000 images unless --copy), and `verify`. peak_rss_mb: this
process's peak resident memory from the status on (the peak is reset after the build, where
the kernel allows it: /proc/self/clear_refs). Prints the conditions, then one JSON line.

Issue 19's scale: `--images 1000000 --clips 16000`; goals status_s <= 2, export_s <= 90,
verify_s <= 90, peak_rss_mb <= 1000.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feasstm_gui import __version__  # noqa: E402
from feasstm_gui.core.dataset.export import ExportOptions, export_dataset, plan_export  # noqa: E402
from feasstm_gui.core.dataset.verify import verify_export  # noqa: E402
from feasstm_gui.core.jobs import drive  # noqa: E402
from feasstm_gui.core.store import Store  # noqa: E402
from feasstm_gui.core.store.store import utc_now  # noqa: E402

LINKS_PER_SEED = 30_000
PHOTOS = ["faces/obama.jpg", "faces/obama2.jpg", "faces/biden.jpg", "faces/astronaut.png",
          "faces/camera.png", "faces/messi5.jpg", "faces/obama_partial_face.jpg"]


def build(folder: Path, n_images: int, n_clips: int) -> Store:
    store = Store.create(folder, annotator="bench", name="FEASSTM-FAF benchmark")
    seeds = []
    photos = []
    for rel in PHOTOS:
        image = cv2.imread(str(ROOT / "tests" / "data" / rel))
        ok, buf = cv2.imencode(".jpg", cv2.resize(image, (100, 100)),
                               [cv2.IMWRITE_JPEG_QUALITY, 95])
        photos.append(buf.tobytes())
    # ext4 allows 65,000 links to one file: at most LINKS_PER_SEED crops per seed file, so the
    # export's own links fit too (else both fall back to copies: 4 GB and minutes at 1M).
    for i in range(max(len(photos), -(-n_images // LINKS_PER_SEED))):
        path = folder / "crops" / f"seed-{i}.jpg"
        path.write_bytes(photos[i % len(photos)])
        seeds.append(path)
    per_clip = [n_images // n_clips + (1 if c < n_images % n_clips else 0)
                for c in range(n_clips)]
    now = utc_now()
    conn = store._conn
    frame_id = 0
    k = 0
    conn.execute("BEGIN")
    for c, n in enumerate(per_clip):
        clip = f"演员{c // 2:02d} 片段{c:03d}"
        conn.execute("INSERT INTO clips (id, work, actor, grp, source, position, created_at) "
                     "VALUES (?,?,?,?,?,?,?)",
                     (clip, f"作品{c % 24}", f"演员{c // 2:02d}", "ABC"[c % 3], "video", c, now))
        (folder / "crops" / clip).mkdir()
        frames, faces, labels = [], [], []
        for i in range(n):
            frame_id += 1
            rel = f"crops/{clip}/{i:06d}.jpg"
            try:
                os.link(seeds[k % len(seeds)], folder / rel)
            except OSError:
                shutil.copyfile(seeds[k % len(seeds)], folder / rel)
            k += 1
            frames.append((frame_id, clip, i, i * 40.0, 1))
            faces.append((frame_id, 1, rel, 0.99, 120.0, now))
            labels.append((frame_id, "bench", 1 + (i // 30 + c) % 7, now))
        conn.executemany("INSERT INTO frames (id, clip, frame_index, time_ms, face_version) "
                         "VALUES (?,?,?,?,?)", frames)
        conn.executemany("INSERT INTO faces (frame_id, version, crop, prob, sharpness, "
                         "created_at) VALUES (?,?,?,?,?,?)", faces)
        conn.executemany("INSERT INTO labels (frame_id, annotator, code, labelled_at) "
                         "VALUES (?,?,?,?)", labels)
    conn.execute("INSERT OR IGNORE INTO annotators (name, created_at) VALUES ('bench', ?)",
                 (now,))
    conn.execute("COMMIT")
    return store


def create_latency_us(folder: Path, n: int = 500) -> float:
    """How long creating and writing one 4 KB file takes here now (a shared disk varies a lot:
    the copy mode's figure follows it)."""
    probe = folder / "probe"
    probe.mkdir()
    data = os.urandom(4096)
    start = time.perf_counter()
    for i in range(n):
        with open(probe / f"{i}.bin", "xb") as f:
            f.write(data)
    elapsed = time.perf_counter() - start
    shutil.rmtree(probe)
    return elapsed / n * 1e6


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> bool:
    """Start the peak resident memory again from now (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def timed_status(folder: Path, pycache: Path) -> tuple[float, float, dict]:
    """`feasstm status --json` in a fresh process: (seconds, CPU seconds, what it printed).
    As an installed package runs: with compiled bytecode (written to `pycache` by a first,
    untimed run, even where PYTHONDONTWRITEBYTECODE is set here)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                        if p)
    command = [sys.executable, "-m", "feasstm_gui.cli", "status", "--json", str(folder)]
    subprocess.run(command, capture_output=True, cwd=ROOT, env=env)
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    elapsed = time.perf_counter() - start
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"status failed: {proc.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system
                                                          - before.children_system)
    return elapsed, cpu, json.loads(proc.stdout)


def timed_export(store: Store, out: Path, options: ExportOptions) -> tuple[float, float]:
    """(seconds, CPU seconds of this process) of plan_export and the export job."""
    start, cpu = time.perf_counter(), time.process_time()
    plan = plan_export(store, options)
    result = drive(export_dataset(store, out, options, plan=plan))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.done == len(plan.images), result
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=22213)
    parser.add_argument("--clips", type=int, default=94)
    parser.add_argument("--dir", type=Path, default=None, help="where to work (default: a "
                        "temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the project and exports")
    parser.add_argument("--copy", action=argparse.BooleanOptionalAction, default=None,
                        help="also time an export with copies (default: up to 100,000 images)")
    args = parser.parse_args()
    copy = args.copy if args.copy is not None else args.images <= 100_000
    work = Path(tempfile.mkdtemp(prefix="feasstm-bench-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        store = build(work / "项目 project", args.images, args.clips)
        build_s = time.perf_counter() - t0
        store.close()
        peak_reset = reset_peak_rss()
        status_s, status_cpu_s, status = timed_status(work / "项目 project", work / "pycache")
        assert status["frames"] == args.images, status
        store = Store.open(work / "项目 project", annotator="bench", backup=False)
        export_s, export_cpu_s = timed_export(store, work / "导出 export", ExportOptions())
        linked = os.stat(next((work / "导出 export" / "faces").rglob("*.jpg"))).st_nlink > 1
        latency = create_latency_us(work)
        export_copy_s = (timed_export(store, work / "导出 copy", ExportOptions(link=False))[0]
                         if copy else None)
        t0, c0 = time.perf_counter(), time.process_time()
        verify = drive(verify_export(work / "导出 export"))
        verify_s, verify_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        store.close()
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, "
              f"python {platform.python_version()}, feasstm {__version__}")
        print(f"project: {args.images} crops (100x100 JPEG) in {args.clips} clips, built in "
              f"{build_s:.1f} s; work folder {work}; creating a 4 KB file takes "
              f"{latency:.0f} us here now; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores (the *_cpu_s figures are this work's own CPU time: "
              "wall figures grow with the machine's load)")
        print(f"status: {status_s:.2f} s; export (hard links: {linked}): {export_s:.2f} s; "
              f"with copies: {export_copy_s if export_copy_s is None else round(export_copy_s, 2)}"
              f" s; verify: {verify_s:.2f} s, {len(verify.problems)} problem(s)")
        print(json.dumps({"images": args.images, "clips": args.clips,
                          "status_s": round(status_s, 3),
                          "export_s": round(export_s, 3),
                          "export_copy_s": None if export_copy_s is None
                          else round(export_copy_s, 3),
                          "verify_s": round(verify_s, 3), "hard_links": linked,
                          "status_cpu_s": round(status_cpu_s, 3),
                          "export_cpu_s": round(export_cpu_s, 3),
                          "verify_cpu_s": round(verify_cpu_s, 3),
                          "verify_problems": len(verify.problems),
                          "file_create_us": round(latency),
                          "peak_rss_mb": round(peak_rss_mb(), 1),
                          "peak_rss_from": "status" if peak_reset else "start"}))
        return 0 if not verify.problems else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
