"""Expression proposals: how fast the model proposes, and how many keys they save an annotator.

    .venv/bin/python benchmarks/propose.py [--faces 4000] [--dir DIR] [--keep]

1. Builds the sample project (`feasstm sample`: real photographs, extracted and aligned by the
   real pipeline; not timed).
2. propose_fps: a project of --faces aligned faces (the sample's crops copied to distinct files)
   is proposed by the bundled model through the job (crop files read and decoded, the model,
   the commits: everything). Baselines from the same run: decoding the crops alone, the model
   alone on decoded crops (batches of 32, and one at a time as `fer` runs it).
3. keys_per_frame: a simulated annotator labels the sample's frames (its first annotator's
   labels are the truth; frames without one are set aside as irrelevant) in the real window
   (offscreen), counting every key and click: without proposals it clicks the clip's first
   frame and types each code (the label key moves on; a click where the next frame to label is
   not the next one shown); with proposals, shot by shot, it clicks and types each frame whose
   proposal is wrong, then accepts the rest of the shot with Shift+P (a click first where the
   current frame is past the shot's first frame left). Both end with the truth in the store
   (checked).

Prints the conditions, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feasstm_gui import __version__  # noqa: E402
from feasstm_gui.core.jobs import drive  # noqa: E402
from feasstm_gui.core.labels.expression_model import load_model  # noqa: E402
from feasstm_gui.core.labels.propose import propose, read_crop  # noqa: E402
from feasstm_gui.core.store import Clip, Store  # noqa: E402
from feasstm_gui.core.store import proposals as sp  # noqa: E402
from feasstm_gui.sample import FIRST_ANNOTATOR, create_sample_project, sample_job  # noqa: E402


def build_sample(folder: Path) -> None:
    store = create_sample_project(folder, annotator="bench")
    try:
        drive(sample_job(store, device="cpu"))
    finally:
        store.close()


def build_many(sample: Path, folder: Path, n: int) -> Store:
    """A project of n aligned faces whose crops are copies of the sample's."""
    with Store.open(sample, read_only=True) as s:
        crops = [sample / f.crop for c in s.clips() for f in s.frames(c.id) if f.crop]
    store = Store.create(folder, annotator="bench")
    (folder / "crops" / "bench").mkdir(parents=True)
    per_clip = 500
    for c in range(0, n, per_clip):
        clip = f"片段 {c // per_clip:03d}"
        store.add_clip(Clip(clip, actor="a", group="A", fps=25.0))
        count = min(per_clip, n - c)
        ids = store.add_frames(clip, [(i, i * 40.0, None, None) for i in range(count)])
        with store.transaction():
            for i, fid in enumerate(ids):
                rel = f"crops/bench/{c + i:06d}.jpg"
                shutil.copyfile(crops[(c + i) % len(crops)], folder / rel)
                store.add_face(fid, crop=rel)
    return store


def time_propose(store: Store, model) -> dict:
    faces = [store.folder / f.crop for c in store.clips() for f in store.frames(c.id)]
    n = len(faces)
    t = time.perf_counter()
    images = [read_crop(p, True)[0] for p in faces]
    decode_s = time.perf_counter() - t
    t = time.perf_counter()
    model.predict(images)
    model_s = time.perf_counter() - t
    # one face at a time through a batch-1 interpreter, as `fer` runs the same file
    from ai_edge_litert.interpreter import Interpreter

    single = Interpreter(model_path=str(model.path), num_threads=2)
    single.allocate_tensors()
    i_in, i_out = single.get_input_details()[0]["index"], single.get_output_details()[0]["index"]
    one = model.prepare_batch(images[:500])
    t = time.perf_counter()
    for x in one:
        single.set_tensor(i_in, x[None])
        single.invoke()
        single.get_tensor(i_out)
    one_s = time.perf_counter() - t
    t = time.perf_counter()
    result = drive(propose(store, None, model))
    job_s = time.perf_counter() - t
    assert result.done == n and sp.proposed_count(store) == n, result.summary
    return {"faces": n, "propose_s": round(job_s, 3), "propose_fps": round(n / job_s, 1),
            "decode_only_fps": round(n / decode_s, 1), "model_only_fps": round(n / model_s, 1),
            "model_one_at_a_time_fps": round(len(one) / one_s, 1)}


def simulate(sample: Path, work: Path, with_proposals: bool) -> dict:
    """The simulated annotator in the real window on a copy of the sample project."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from feasstm_gui.core.settings import Settings
    from feasstm_gui.ui.main_window import MainWindow

    folder = work / ("with" if with_proposals else "without")
    shutil.copytree(sample, folder)
    store = Store.open(folder, annotator="模拟 标注员")
    truth = dict(store._query("SELECT frame_id, code FROM labels WHERE annotator=?",
                              (FIRST_ANNOTATOR,)))
    with store.transaction():
        store._conn.execute("DELETE FROM labels")  # the simulated annotator starts afresh
        store._conn.execute("DELETE FROM adjudications")
    for f in store.frames():  # set aside what the truth does not cover
        if f.id not in truth and not f.irrelevant:
            store.set_irrelevant_system(f.id, True)
    if with_proposals:
        drive(propose(store, None, load_model()))
    props = {fid: p.code for fid, p in sp.proposals_for(store).items()}
    app = QApplication.instance() or QApplication([])
    window = MainWindow(Settings.load(), "模拟 标注员")
    window.show()
    window.set_store(store)
    keys = clicks = 0
    digit = {c: getattr(Qt.Key, f"Key_{c}") for c in range(1, 8)}
    for clip in [c.id for c in store.clips()]:
        window.set_clip(clip)
        app.processEvents()
        rows = window.strip_model.frames()
        shots, pos = [], 0
        while pos < len(rows):  # Shift+P accepts up to the next scene cut: work shot by shot
            shots.append(window.proposals.shot(pos))
            pos += len(shots[-1])
        for shot in shots:
            todo = [r for r in shot if r.id in truth]
            if not todo:
                continue
            typed = ([r for r in todo if props.get(r.id) != truth[r.id]] if with_proposals
                     else todo)
            for r in typed:
                current = window.strip.current_frame()
                if current is None or current.id != r.id:
                    window.strip.go_to_row(window.strip_model.row_of(r.id))  # a click
                    clicks += 1
                QTest.keyClick(window.strip, digit[truth[r.id]])
                keys += 1
            left = [r for r in todo if r not in typed]
            if with_proposals and left:
                ids = [r.id for r in shot]
                current = window.strip.current_frame()
                if current is None or current.id not in ids or \
                        ids.index(current.id) > ids.index(left[0].id):
                    window.strip.go_to_row(window.strip_model.row_of(left[0].id))  # a click
                    clicks += 1
                QTest.keyClick(window.strip, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
                keys += 1
        app.processEvents()
    got = dict(store._query("SELECT frame_id, code FROM labels WHERE annotator=?",
                            ("模拟 标注员",)))
    window.close()
    assert got == truth, f"the simulated annotator's labels differ from the truth: {got}"
    n = len(truth)
    right = sum(1 for f, c in truth.items() if props.get(f) == c)
    return {"frames": n, "keys": keys, "clicks": clicks,
            "keys_per_frame": round((keys + clicks) / n, 3),
            **({"proposals_right": right} if with_proposals else {})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=int, default=4000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="feasstm-propose-"))
    os.environ.setdefault("FEASSTM_CONFIG_DIR", str(base / "config"))
    try:
        import ai_edge_litert
        import onnxruntime

        print(f"FEASSTM Studio {__version__}, Python {platform.python_version()}, "
              f"{platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
        print(f"ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')}, "
              f"onnxruntime {onnxruntime.__version__}")
        t = time.perf_counter()
        build_sample(base / "示例 项目")
        print(f"sample project built in {time.perf_counter() - t:.1f} s (not timed below)")
        t = time.perf_counter()
        model = load_model()
        load_s = time.perf_counter() - t
        store = build_many(base / "示例 项目", base / "很多 人脸", args.faces)
        speed = time_propose(store, model)
        store.close()
        print(f"model {model.id}: loaded in {load_s:.3f} s; {speed}")
        without = simulate(base / "示例 项目", base / "sim", with_proposals=False)
        with_ = simulate(base / "示例 项目", base / "sim", with_proposals=True)
        print(f"without proposals: {without}")
        print(f"with proposals: {with_}")
        print(json.dumps({
            "propose_fps": speed["propose_fps"], "faces": speed["faces"],
            "decode_only_fps": speed["decode_only_fps"],
            "model_only_fps": speed["model_only_fps"],
            "model_one_at_a_time_fps": speed["model_one_at_a_time_fps"],
            "model_load_s": round(load_s, 3),
            "keys_per_frame_without_proposals": without["keys_per_frame"],
            "keys_per_frame_with_proposals": with_["keys_per_frame"],
            "sim_frames": without["frames"], "sim_proposals_right": with_["proposals_right"],
        }))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
