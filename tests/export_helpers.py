"""Build real projects for the export tests: real JPEG crops made from tests/data photographs.

No tests here; test_export*.py, test_verify.py and tests/ui/test_export_dialog.py import it.

A clip is described by a list of frame tokens, one per source frame (frame index 10 * i):
`"4"` labelled 4, `"-"` unlabelled, `"x4"` deleted (blur) but labelled 4, `"i"` irrelevant,
`"n4"` labelled 4 but with no aligned face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2

from feasstm_gui.core.store import Clip, Store

DATA = Path(__file__).parent / "data"
PHOTOS = ("faces/obama.jpg", "faces/obama2.jpg", "faces/biden.jpg", "faces/astronaut.png",
          "faces/camera.png", "faces/messi5.jpg", "faces/obama_partial_face.jpg")

_CROPS: list[bytes] = []


def crop_bytes() -> list[bytes]:
    """Seven distinct real 100x100 JPEG crops (made once per session)."""
    if not _CROPS:
        for rel in PHOTOS:
            image = cv2.imread(str(DATA / rel))
            h, w = image.shape[:2]
            s = min(h, w)
            square = image[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
            ok, buf = cv2.imencode(".jpg", cv2.resize(square, (100, 100)),
                                   [cv2.IMWRITE_JPEG_QUALITY, 95])
            assert ok
            _CROPS.append(buf.tobytes())
    return _CROPS


@dataclass
class ClipSpec:
    id: str
    frames: list[str]
    actor: str = ""
    work: str = "作品"
    role: str = ""
    group: str = "A"
    video: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    # extra annotators' labels: annotator -> {frame position: code}
    others: dict[str, dict[int, int]] = field(default_factory=dict)


@dataclass
class Built:
    store: Store
    # clip -> [(frame position, frame id, token)] in source order
    frames: dict[str, list[tuple[int, int, str]]]


def build_project(folder: Path, clips: list[ClipSpec], annotator: str = "tester") -> Built:
    store = Store.create(folder, annotator=annotator, name="测试 项目")
    crops = crop_bytes()
    out: dict[str, list[tuple[int, int, str]]] = {}
    k = 0
    for spec in clips:
        store.add_clip(Clip(spec.id, video=spec.video, work=spec.work, actor=spec.actor,
                            role=spec.role, group=spec.group, start_s=spec.start_s,
                            end_s=spec.end_s, fps=25.0))
        ids = store.add_frames(spec.id, [(10 * i, 400.0 * i, None, None)
                                         for i in range(len(spec.frames))])
        out[spec.id] = []
        by_code: dict[int, list[int]] = {}
        for pos, (fid, token) in enumerate(zip(ids, spec.frames)):
            out[spec.id].append((pos, fid, token))
            if token == "i":
                store.set_irrelevant([fid], True)
                continue
            if not token.startswith("n"):
                rel = f"crops/{spec.id}/{10 * pos:06d}.jpg"
                path = folder / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(crops[k % len(crops)])
                k += 1
                store.add_face(fid, crop=rel, prob=0.99, sharpness=100.0 + pos)
            if token.startswith("x"):
                store.set_deletion([fid], "blur", True)
            code = token.lstrip("xn")
            if code.isdigit():
                by_code.setdefault(int(code), []).append(fid)
        for code, fids in by_code.items():
            store.set_labels(fids, code)
        for other, labels in spec.others.items():
            for pos, code in labels.items():
                store.set_labels([ids[pos]], code, annotator=other)
    return Built(store, out)


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()
