"""Render the main window on a small sample project to docs/screenshot.png.

Runs offscreen by default (no display needed); under Xvfb or a real display set
QT_QPA_PLATFORM=xcb. The sample project is built in a temporary folder from the photographs in
tests/data (aligned-looking crops cut around the faces), with labels, deletions and suggested
flags, so the strip shows every kind of badge.

    .venv/bin/python packaging/screenshot.py [--out docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "faces"

#: Face centre (x, y) and side in each photograph (measured with MTCNN at native size).
FACES = {
    "obama": (491.0, 253.0, 349.0),
    "obama2": (331.0, 426.0, 426.0),
    "biden": (570.0, 363.0, 393.0),
    "astronaut": (224.0, 117.0, 110.0),
    "camera": (226.0, 155.0, 73.0),
    "messi5": (240.0, 113.0, 38.0),
}


def sample_project(folder: Path) -> None:
    import cv2

    from feasstm_gui.core.store import Clip, Store

    store = Store.create(folder, annotator="示例", name="FEASSTM 示例项目")
    plan = {
        "演员A 片段01": ("作品 一", "演员 甲", "A", ["obama", "obama2"] * 14),
        "演员B 片段02": ("作品 二", "演员 乙", "B", ["astronaut", "camera"] * 10),
        "演员C 片段03": ("作品 三", "演员 丙", "C", ["messi5", "biden"] * 6),
    }
    codes = [4, 4, 4, 7, 7, None, 1, 1, 2, None, 5, 5, 6, 3, None, None, 7, 7, 4, None]
    for clip_id, (work, actor, group, photos) in plan.items():
        store.add_clip(Clip(id=clip_id, work=work, actor=actor, group=group))
        for sub in ("frames", "crops"):
            (folder / sub / clip_id).mkdir(parents=True)
        rows, faces = [], []
        for i, name in enumerate(photos):
            img = cv2.imread(str(next(DATA.glob(f"{name}.*"))))
            h, w = img.shape[:2]
            s = 640 / max(h, w)
            frame = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
            cx, cy, side = (v * s for v in FACES[name])
            shift = (i % 7 - 3) * side * 0.01  # a little movement from frame to frame
            cx += shift
            x1, y1, x2, y2 = cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2
            m = side * 0.15
            crop = frame[max(0, int(y1 - m)):int(y2 + m), max(0, int(x1 - m)):int(x2 + m)]
            crop = cv2.resize(crop, (100, 100), interpolation=cv2.INTER_AREA)
            fp, cp = f"frames/{clip_id}/{i:06d}.jpg", f"crops/{clip_id}/{i:06d}.jpg"
            cv2.imwrite(str(folder / fp), frame)
            cv2.imwrite(str(folder / cp), crop)
            lms = [[cx - side * 0.18, cy - side * 0.08], [cx + side * 0.18, cy - side * 0.08],
                   [cx, cy + side * 0.08], [cx - side * 0.14, cy + side * 0.25],
                   [cx + side * 0.14, cy + side * 0.25]]
            rows.append((i * 3, i * 120.0, fp, None))
            faces.append((cp, [x1, y1, x2, y2], lms, 0.95 + (i % 5) / 100, 80.0 + (i * 37) % 90))
        ids = store.add_frames(clip_id, rows)
        for fid, (cp, box, lms, prob, sharp) in zip(ids, faces):
            store.add_face(fid, crop=cp, box=box, landmarks=lms, prob=prob, sharpness=sharp,
                           scores={"sharpness": sharp, "pose_yaw": 4.0})
        for fid, code in zip(ids, codes):
            if code:
                store.set_labels([fid], code)
        if clip_id.endswith("01"):
            store.set_deletion(ids[9:10], "blur", True)
            store.set_deletion(ids[14:15], "incomplete", True)
            store.set_suggestions(ids[15], {"blur": 0.8})
            store.set_suggestions(ids[21], {"alignment_failure": 0.6})
    store.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="feasstm screenshot "))
    os.environ["FEASSTM_CONFIG_DIR"] = str(tmp / "config")
    os.environ.setdefault("FEASSTM_ANNOTATOR", "示例")
    try:
        folder = tmp / "示例 项目"
        sample_project(folder)
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(sys.argv[:1])
        from feasstm_gui.core.settings import Settings
        from feasstm_gui.ui.main_window import MainWindow

        window = MainWindow(Settings.load(), os.environ["FEASSTM_ANNOTATOR"])
        window.resize(1500, 900)
        window.show()
        window.open_path(folder)
        window.strip.go_to_row(2)
        window.strip.setFocus()
        window.history.refresh()
        end = time.monotonic() + 10
        while time.monotonic() < end:  # thumbnails and the preview frame load off-thread
            app.processEvents()
            time.sleep(0.02)
            if window.preview.canvas._layout()[0] is not None and \
                    window.thumbs.wait(0) and len(window.thumbs) >= 28:
                break
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out)):
            print(f"could not write {out}", file=sys.stderr)
            return 1
        print(out)
        window.close()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
