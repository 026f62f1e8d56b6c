"""Kill campaigns: `kill -9` at random moments of a labelling session, an alignment job and an
export, and what must hold after each kill.

    .venv/bin/python benchmarks/kill_campaign.py [--label-kills 70] [--align-kills 10]
        [--export-kills 30] [--seed 0] [--dir DIR] [--keep]

(a) Labelling: a child process runs the real main window offscreen (QT_QPA_PLATFORM=offscreen),
    moves along the frame strip and presses label keys on it with QTest.keyClick; after each key
    it checks the store holds the label and prints an ack line. The parent kills it after a
    random number of acks (plus a random few milliseconds) and checks: PRAGMA integrity_check ok,
    every acknowledged edit is there (only the key in flight may be there or not), the edit log
    undoes. Then a new session goes on where the last one stopped.
(b) Alignment: a child runs pipeline.align_clip on a short clipmaker clip and acks each committed
    frame; it is killed after a random number of frames, then resumed by the next child. At the
    end the clip is aligned to completion and compared, frame by frame, with an uninterrupted run
    of the same project.
(c) Export: a child exports a project (copies, not hard links, so it takes a while) and is killed
    at a random moment; every other export replaces an earlier one (--force). After each kill
    nothing may exist under the final name unless it verifies as a complete export.

Prints the conditions, then one JSON line (last line): kills, lost_edits, corrupt,
partial_exports, align_mismatches and the counts per campaign. The test suite runs the same
campaigns with a few kills each (tests/test_kill_campaign.py). `--server URL` (or `--server
cluster`: a throw-away one) runs them on the PostgreSQL back end: each project's database is a
new one on that server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIP = "片段 一"
ANNOTATOR = "kill-test"
#: --server: a PostgreSQL server where the campaigns may create databases (issue 16: the same
#: campaigns on the team store); None: SQLite projects.
SERVER: str | None = None
KEYS = "01234567"  # 0 clears the label, 1-7 are the expression codes
SEQUENCE_LENGTH = 200_000


@dataclass
class Counts:
    kills: int = 0
    acked: int = 0  # acknowledged units: label edits, aligned frames, finished exports
    lost_edits: int = 0
    corrupt: int = 0
    partial_exports: int = 0
    align_mismatches: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        for key in ("kills", "acked", "lost_edits", "corrupt", "partial_exports",
                    "align_mismatches"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        self.notes += other.notes


# ---------------------------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------------------------


def _new_server_db() -> str | None:
    """A new empty database on SERVER for one project (None without --server)."""
    if SERVER is None:
        return None
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"kill_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(SERVER)._replace(path="/" + name))


def _seed_crops(folder: Path) -> list[Path]:
    import cv2

    seeds = []
    for i, rel in enumerate(["faces/obama.jpg", "faces/astronaut.png", "faces/camera.png",
                             "faces/messi5.jpg", "faces/obama2.jpg"]):
        image = cv2.imread(str(ROOT / "tests" / "data" / rel))
        ok, buf = cv2.imencode(".jpg", cv2.resize(image, (100, 100)),
                               [cv2.IMWRITE_JPEG_QUALITY, 95])
        path = folder / "crops" / f"seed-{i}.jpg"
        path.write_bytes(buf.tobytes())
        seeds.append(path)
    return seeds


def build_crops_project(folder: Path, n_frames: int, clips: int = 1, labelled: bool = False):
    """A project of `clips` clips with aligned 100x100 crops (real photographs), made through the
    Store API. Returns the closed project's folder."""
    from feasstm_gui.core.store import Clip, Store

    store = Store.create(folder, annotator=ANNOTATOR, name="kill campaign",
                         server=_new_server_db())
    seeds = _seed_crops(folder)
    with store.transaction():
        for c in range(clips):
            clip = CLIP if c == 0 else f"片段 {c + 1}"
            store.add_clip(Clip(clip, work="作品", actor=f"演员 {c}", group="A"))
            (folder / "crops" / clip).mkdir(parents=True)
            ids = store.add_frames(clip, [(i, i * 40.0, None, None) for i in range(n_frames)])
            for i, fid in enumerate(ids):
                rel = f"crops/{clip}/{i:06d}.jpg"
                try:
                    os.link(seeds[i % len(seeds)], folder / rel)
                except OSError:
                    shutil.copyfile(seeds[i % len(seeds)], folder / rel)
                store.add_face(fid, crop=rel, prob=0.99, sharpness=100.0)
            if labelled:
                for code in range(1, 8):
                    store.set_labels(ids[code - 1::7], code)
    store.close()
    return folder


def _open(folder: Path):
    from feasstm_gui.core.store import Store

    return Store.open(folder, annotator=ANNOTATOR, backup=False)


def _spawn(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FEASSTM_ANNOTATOR": ANNOTATOR,
           "PYTHONUNBUFFERED": "1"}
    env.setdefault("OMP_NUM_THREADS", "2")
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            encoding="utf-8")


def _kill(child: subprocess.Popen) -> list[str]:
    """kill -9, then every line the child printed before it died (acks not read yet)."""
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    rest = child.stdout.read().splitlines()
    child.stdout.close()
    child.stderr.close()
    return rest


def _finish(child: subprocess.Popen, what: str) -> None:
    out, err = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"{what} child failed ({child.returncode}):\n{err[-3000:]}")


# ---------------------------------------------------------------------------------------------
# (a) labelling by key presses in the real main window
# ---------------------------------------------------------------------------------------------


def key_sequence(seed: int, n_rows: int) -> list[tuple[int, int]]:
    """(strip row, key digit) of every key press of a session, the same in parent and child."""
    rng = random.Random(seed)
    return [(rng.randrange(n_rows), rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 1, 4, 7)))
            for _ in range(SEQUENCE_LENGTH)]


def label_child(folder: str, start: int, seed: int) -> None:
    """Run the main window offscreen and press label keys on the strip from `start` on."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from feasstm_gui.core.settings import Settings
    from feasstm_gui.ui.main_window import MainWindow

    window = MainWindow(Settings.load(), ANNOTATOR)
    window.show()
    if not window.open_path(folder):
        raise SystemExit(f"cannot open {folder}")
    strip = window.strip
    window.activateWindow()  # shortcuts (the label keys) go to the active window only
    deadline = time.monotonic() + 30
    while (window.strip_model.rowCount() == 0 or QApplication.activeWindow() is not window) \
            and time.monotonic() < deadline:
        app.processEvents()
    n_rows = window.strip_model.rowCount()
    seq = key_sequence(seed, n_rows)
    keys = {d: getattr(Qt.Key, f"Key_{d}") for d in range(8)}
    strip.setFocus()
    print("ready", flush=True)
    store = window.store
    for i in range(start, SEQUENCE_LENGTH):
        row, digit = seq[i]
        strip.go_to_row(row)
        frame = strip.current_frame()
        QTest.keyClick(strip, keys[digit])
        got = store.frame(frame.id, annotator=ANNOTATOR).code
        if got != (digit or None):  # the key did not reach store.set_labels
            raise SystemExit(f"key {digit} on row {row}: store holds {got}")
        print(f"ack {i} {frame.id} {digit}", flush=True)
        if i % 50 == 0:
            app.processEvents()


def label_campaign(work: Path, kills: int, rng: random.Random, n_frames: int = 300) -> Counts:
    folder = build_crops_project(work / "标注 项目", n_frames)
    with _open(folder) as store:
        ids = [f.id for f in store.frames(CLIP)]
    seed = rng.randrange(1 << 30)
    seq = key_sequence(seed, len(ids))
    expected: dict[int, int | None] = {}  # frame id -> code, from acknowledged key presses
    counts = Counts()
    start = 0
    for _ in range(kills):
        child = _spawn(["label", str(folder), str(start), str(seed)])
        first = child.stdout.readline()
        if first.strip() != "ready":
            _finish(child, "label")
            raise RuntimeError(f"label child did not start: {first!r}")
        stop_after = rng.randint(1, 60)
        last = start - 1

        def acked(line: str) -> None:
            nonlocal last
            if line.startswith("ack "):
                _, i, fid, digit = line.split()
                last = int(i)
                expected[int(fid)] = int(digit) or None
                counts.acked += 1

        for line in child.stdout:
            acked(line)
            stop_after -= line.startswith("ack ")
            if stop_after <= 0:
                time.sleep(rng.random() * 0.004)  # land somewhere in a later key press
                break
        else:
            _finish(child, "label")
            raise RuntimeError("the label child stopped by itself")
        for line in _kill(child):  # acks printed before the kill and not read yet
            acked(line)
        counts.kills += 1
        inflight_row, inflight_digit = seq[last + 1]
        inflight = (ids[inflight_row], inflight_digit or None)
        with _open(folder) as store:
            problems = store.integrity_check()
            counts.corrupt += bool(problems)
            got = {f.id: f.code for f in store.frames(CLIP, annotator=ANNOTATOR)}
            for fid, code in expected.items():
                if got[fid] != code and (fid, got[fid]) != inflight:
                    counts.lost_edits += 1
                    counts.notes.append(f"label: frame {fid} holds {got[fid]}, acked {code}")
            if got[inflight[0]] == inflight[1]:
                expected[inflight[0]] = inflight[1]  # the key in flight made it
            if expected and store.can_undo() is None:
                counts.notes.append("label: nothing to undo after a kill")
        start = last + 1
    return counts


# ---------------------------------------------------------------------------------------------
# (b) alignment: kill, resume, compare with an uninterrupted run
# ---------------------------------------------------------------------------------------------


def align_child(folder: str) -> None:
    from feasstm_gui.core.ingest.pipeline import align_clip

    store = _open(Path(folder))
    print("ready", flush=True)
    job = align_clip(store, CLIP, device="cpu")
    try:
        while True:
            progress = next(job)
            print(f"ack {progress.done}", flush=True)
    except StopIteration:
        pass
    store.close()
    print("done", flush=True)


def build_video_project(folder: Path, n_frames: int) -> Path:
    """A project with one clip: `n_frames` frames of the clipmaker's standard clip (evenly
    taken, so the cut, the splices and the blur are in), extracted."""
    sys.path.insert(0, str(ROOT / "tests"))
    from clipmaker import render_clip, write_video

    from feasstm_gui.core.ingest.importer import import_videos
    from feasstm_gui.core.ingest.pipeline import extract_clip
    from feasstm_gui.core.jobs import drive
    from feasstm_gui.core.store import Store

    frames, _ = render_clip()
    step = max(1, len(frames) // n_frames)
    video = write_video(folder.parent / f"{CLIP}.avi", frames[::step][:n_frames])
    store = Store.create(folder, annotator=ANNOTATOR, server=_new_server_db())
    drive(import_videos(store, [video]))
    drive(extract_clip(store, CLIP))
    store.close()
    return folder


def _faces(folder: Path) -> dict[int, tuple]:
    with _open(folder) as store:
        out = {}
        for f in store.frames(CLIP):
            face = store.face(f.id)
            crop = (folder / face.crop).read_bytes() if face else None
            out[f.frame_index] = (f.irrelevant, face.box if face else None,
                                  face.landmarks if face else None, crop,
                                  tuple(sorted(f.suggested)))
        return out


def align_campaign(work: Path, kills: int, rng: random.Random, n_frames: int = 24) -> Counts:
    base = build_video_project(work / "对齐 基准", n_frames)
    folder = work / "对齐 杀死"
    if SERVER is None:
        shutil.copytree(base, folder)
    else:  # a copy of the folder would name the same database: the same project built again
        build_video_project(folder, n_frames)
    counts = Counts()
    child = _spawn(["align", str(base)])
    _finish(child, "uninterrupted align")
    acked = 0
    for _ in range(kills):
        child = _spawn(["align", str(folder)])
        stop_after = rng.randint(1, max(1, n_frames // max(1, kills)))
        done_line = False
        for line in child.stdout:
            if line.startswith("ack "):
                acked = max(acked, int(line.split()[1]))
                counts.acked += 1
                stop_after -= 1
                if stop_after <= 0:
                    time.sleep(rng.random() * 0.05)
                    break
            elif line.startswith("done"):
                done_line = True
                break
        else:
            _finish(child, "align")
            done_line = True
        for line in _kill(child) if child.returncode is None else []:
            if line.startswith("ack "):
                acked = max(acked, int(line.split()[1]))
                counts.acked += 1
        counts.kills += 1
        with _open(folder) as store:
            counts.corrupt += bool(store.integrity_check())
            aligned = len(store.frames(CLIP)) - len(store.unaligned_frames(CLIP))
            if aligned < acked:
                counts.lost_edits += acked - aligned
                counts.notes.append(f"align: {aligned} frames aligned, {acked} acked")
        if done_line:
            break
    _finish(_spawn(["align", str(folder)]), "resumed align")
    want, got = _faces(base), _faces(folder)
    for index in want:
        if want[index] != got.get(index):
            counts.align_mismatches += 1
            counts.notes.append(f"align: frame {index} differs from the uninterrupted run")
    return counts


# ---------------------------------------------------------------------------------------------
# (c) export
# ---------------------------------------------------------------------------------------------


def export_child(folder: str, out: str, force: str) -> None:
    from feasstm_gui.core.dataset.export import ExportOptions, export_dataset
    from feasstm_gui.core.store import Store

    store = Store.open(folder, annotator=ANNOTATOR, read_only=True)
    print("ready", flush=True)
    job = export_dataset(store, out, ExportOptions(link=False), force=force == "1")
    try:
        while True:
            progress = next(job)
            print(f"ack {progress.done}", flush=True)
    except StopIteration:
        pass
    print("done", flush=True)


def _export_state(out: Path) -> str:
    """'absent', 'complete' or 'partial' (something under the final name that does not verify)."""
    from feasstm_gui.core.dataset.verify import verify
    from feasstm_gui.core.errors import FeasstmError

    if not out.exists():
        return "absent"
    try:
        return "partial" if verify(out) else "complete"
    except FeasstmError:
        return "partial"


def export_campaign(work: Path, kills: int, rng: random.Random, n_frames: int = 800) -> Counts:
    folder = build_crops_project(work / "导出 项目", n_frames // 4, clips=4, labelled=True)
    out = work / "导出 结果" / "FEASSTM 导出"
    counts = Counts()
    t0 = time.monotonic()
    child = _spawn(["export", str(folder), str(out), "0"])
    child.stdout.readline()
    started = time.monotonic()
    _finish(child, "export")
    duration = time.monotonic() - started
    startup = started - t0
    counts.notes.append(f"export: one run {duration:.2f} s after a {startup:.2f} s start")
    phases: dict[str, int] = {}
    for k in range(kills):
        force = k % 2 == 1  # every other one replaces the complete export already there
        if not force and out.exists():
            shutil.rmtree(out)
        child = _spawn(["export", str(folder), str(out), "1" if force else "0"])
        child.stdout.readline()  # ready: the project is open
        time.sleep(rng.random() * duration * 1.1)
        printed = _kill(child)
        counts.kills += 1
        phase = ("after it finished" if "done" in printed else
                 "while writing" if any(p.startswith("ack ") for p in printed) else
                 "while planning")
        phases[phase] = phases.get(phase, 0) + 1
        state = _export_state(out)
        if state == "partial":
            counts.partial_exports += 1
            counts.notes.append(f"export: partial export under {out} after kill {k}")
        if force and state == "absent":  # killed between the two renames: the old one is
            pass  # aside and the next export puts it back (checked below)
        with _open(folder) as store:
            counts.corrupt += bool(store.integrity_check())
    counts.notes.append("export: killed " + ", ".join(f"{n} {k}" for k, n in phases.items()))
    # the next export cleans up what the killed ones left and completes
    if out.exists():
        shutil.rmtree(out)
    _finish(_spawn(["export", str(folder), str(out), "0"]), "final export")
    counts.acked += 1
    if _export_state(out) != "complete":
        counts.partial_exports += 1
    leftovers = [p.name for p in out.parent.iterdir() if p.name != out.name]
    if leftovers:
        counts.notes.append(f"export: left beside the export: {leftovers}")
        counts.partial_exports += len(leftovers)
    return counts


# ---------------------------------------------------------------------------------------------


def run(work: Path, label_kills: int, align_kills: int, export_kills: int, seed: int,
        align_frames: int = 24, label_frames: int = 300, export_frames: int = 800) -> dict:
    rng = random.Random(seed)
    total = Counts()
    per: dict[str, dict] = {}
    for name, kills, fn, size in (("label", label_kills, label_campaign, label_frames),
                                  ("align", align_kills, align_campaign, align_frames),
                                  ("export", export_kills, export_campaign, export_frames)):
        if kills <= 0:
            continue
        t = time.monotonic()
        c = fn(work, kills, rng, size)
        per[name] = {**{k: v for k, v in asdict(c).items() if k != "notes"},
                     "seconds": round(time.monotonic() - t, 1)}
        total.add(c)
    return {"kills": total.kills, "lost_edits": total.lost_edits, "corrupt": total.corrupt,
            "partial_exports": total.partial_exports, "align_mismatches": total.align_mismatches,
            "acked": total.acked, "campaigns": per, "notes": total.notes[:20]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--label-kills", type=int, default=70)
    parser.add_argument("--align-kills", type=int, default=10)
    parser.add_argument("--export-kills", type=int, default=30)
    parser.add_argument("--align-frames", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--server", default=None, metavar="URL|cluster",
                        help="the campaigns on the PostgreSQL back end: a server URL where "
                        "databases may be created, or `cluster` for a throw-away one "
                        "(tests/pgcluster.py)")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        {"label": lambda: label_child(rest[0], int(rest[1]), int(rest[2])),
         "align": lambda: align_child(rest[0]),
         "export": lambda: export_child(*rest)}[kind]()
        return
    base = args.dir or Path(tempfile.mkdtemp(prefix="kill campaign "))
    work = base / "杀 进程 测试"
    work.mkdir(parents=True, exist_ok=True)
    from feasstm_gui import __version__

    print(f"FEASSTM Studio {__version__}, Python {platform.python_version()}, "
          f"{platform.platform()}, {os.cpu_count()} CPUs; work folder {work}")
    print(f"kills: label {args.label_kills}, align {args.align_kills} "
          f"({args.align_frames}-frame clip), export {args.export_kills}; seed {args.seed}")
    global SERVER
    cluster = None
    if args.server == "cluster":
        sys.path.insert(0, str(ROOT / "tests"))
        from pgcluster import PgCluster, find_bindir

        cluster = PgCluster(find_bindir()).start()
        SERVER = cluster.url()
    elif args.server:
        SERVER = args.server
    print(f"back end: {'PostgreSQL ' + SERVER if SERVER else 'SQLite'}")
    t = time.monotonic()
    try:
        result = run(work, args.label_kills, args.align_kills, args.export_kills, args.seed,
                     align_frames=args.align_frames)
    finally:
        if cluster is not None:
            cluster.stop()
        if not args.keep:
            shutil.rmtree(base if args.dir is None else work, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - t, 1)
    for note in result["notes"]:
        print(note)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
