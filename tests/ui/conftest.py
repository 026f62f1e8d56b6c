"""Fixtures for the workstation's UI tests: small projects made with the Store API and real
crops (the test photographs resized to 100x100 JPEG), under a folder with Chinese characters
and spaces."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import pytest

from feasstm_gui.core.store import Clip, Store

DATA = Path(__file__).resolve().parents[1] / "data"
PHOTOS = ("obama", "obama2", "astronaut", "camera", "messi5")


@dataclass
class FrameSpec:
    """One frame of a test clip."""

    code: int | None = None
    reasons: tuple[str, ...] = ()
    suggested: tuple[str, ...] = ()
    irrelevant: bool = False
    sharpness: float | None = None
    prob: float | None = 0.99
    track: dict | None = None
    frame_index: int | None = None


@dataclass
class Built:
    store: Store
    folder: Path
    ids: dict[str, list[int]] = field(default_factory=dict)  # clip -> frame ids in order


def _base_images(cache: Path) -> list[tuple[Path, Path, tuple[int, int]]]:
    """(crop 100x100, frame image, frame size) per photograph, made once."""
    out = []
    cache.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        src = next(DATA.glob(f"faces/{name}.*"))
        crop, frame = cache / f"{name}_crop.jpg", cache / f"{name}_frame.jpg"
        img = cv2.imread(str(src))
        h, w = img.shape[:2]
        scale = 480 / max(h, w)
        small = cv2.resize(img, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        if not frame.exists():
            cv2.imwrite(str(frame), small)
        if not crop.exists():
            side = min(h, w)
            y0, x0 = (h - side) // 2, (w - side) // 2
            cv2.imwrite(str(crop), cv2.resize(img[y0:y0 + side, x0:x0 + side], (100, 100),
                                              interpolation=cv2.INTER_AREA))
        out.append((crop, frame, (small.shape[1], small.shape[0])))
    return out


def build_project(folder: Path, clips: dict[str, list[FrameSpec]], *, cache: Path,
                  annotator: str = "tester", blind: list[str] | bool = False,
                  meta: dict[str, tuple[str, str, str]] | None = None) -> Built:
    """A project with the given clips; labels by `annotator`, flags, suggestions, faces."""
    bases = _base_images(cache)
    store = Store.create(folder, annotator=annotator, name=folder.name)
    built = Built(store, folder)
    for n, (clip_id, frames) in enumerate(clips.items()):
        work, actor, group = (meta or {}).get(clip_id, (f"作品 {n + 1}", f"演员 {n + 1}", "A"))
        store.add_clip(Clip(id=clip_id, work=work, actor=actor, group=group, source="video"))
        (folder / "crops" / clip_id).mkdir(parents=True, exist_ok=True)
        (folder / "frames" / clip_id).mkdir(parents=True, exist_ok=True)
        rows = []
        for i, spec in enumerate(frames):
            idx = spec.frame_index if spec.frame_index is not None else i
            crop, frame, _size = bases[i % len(bases)]
            shutil.copyfile(frame, folder / "frames" / clip_id / f"{idx:06d}.jpg")
            shutil.copyfile(crop, folder / "crops" / clip_id / f"{idx:06d}.jpg")
            rows.append((idx, idx * 40.0, f"frames/{clip_id}/{idx:06d}.jpg", None))
        ids = store.add_frames(clip_id, rows)
        built.ids[clip_id] = ids
        with store.transaction():
            for i, (fid, spec) in enumerate(zip(ids, frames)):
                _crop, _frame, (w, h) = bases[i % len(bases)]
                x1, y1, x2, y2 = w * 0.3, h * 0.2, w * 0.7, h * 0.6
                cx, bw, bh = (x1 + x2) / 2, x2 - x1, y2 - y1
                lms = [[x1 + bw * 0.3, y1 + bh * 0.4], [x1 + bw * 0.7, y1 + bh * 0.4],
                       [cx, y1 + bh * 0.6], [x1 + bw * 0.35, y1 + bh * 0.8],
                       [x1 + bw * 0.65, y1 + bh * 0.8]]
                idx = rows[i][0]
                store.add_face(fid, crop=f"crops/{clip_id}/{idx:06d}.jpg", box=[x1, y1, x2, y2],
                               landmarks=lms, prob=spec.prob,
                               sharpness=spec.sharpness if spec.sharpness is not None
                               else 100.0 + i, scores={"sharpness": 100.0 + i})
                if spec.track is not None:
                    store.mark_aligned(fid, spec.track)
                if spec.suggested:
                    store.set_suggestions(fid, {r: 0.5 for r in spec.suggested})
        by_code: dict[int, list[int]] = {}
        for fid, spec in zip(ids, frames):
            if spec.code:
                by_code.setdefault(spec.code, []).append(fid)
        for code, fids in by_code.items():
            store.import_labels([(f, code) for f in fids], "test set-up")
        for fid, spec in zip(ids, frames):
            for reason in spec.reasons:
                store.apply_edits([("deletion", {"frame": fid, "reason": reason}, True)],
                                  "test set-up", audit_only=True)
            if spec.irrelevant:
                store.set_irrelevant_system(fid, True)
    if blind:
        store.set_blind(blind)
    return built


@pytest.fixture(scope="session")
def image_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ui-images")


@pytest.fixture
def make_project(cjk_dir, image_cache):
    """make_project({clip: [FrameSpec, ...]}, name=...) -> Built (closed at the end)."""
    made: list[Built] = []

    def make(clips: dict[str, list[FrameSpec]], name: str = "项目 测试", **kw) -> Built:
        b = build_project(cjk_dir / name, clips, cache=image_cache, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        try:
            b.store.close()
        except Exception:  # noqa: BLE001 - the window may have closed it already
            pass


@pytest.fixture
def window(qtbot):
    """A main window (closed at the end). Open a project with `window.set_store(store)`."""
    from feasstm_gui.core.settings import Settings
    from feasstm_gui.ui.main_window import MainWindow

    w = MainWindow(Settings.load(), "tester")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    from PySide6.QtWidgets import QApplication

    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    yield w
    w.close()
