"""Test projects built with the store API and real face crops (tests/ is on sys.path)."""

from __future__ import annotations

from pathlib import Path

import cv2

from feasstm_gui.core.ingest.images import read_image, write_jpeg
from feasstm_gui.core.store import Clip, Store

FACES = Path(__file__).resolve().parent / "data" / "faces"


def make_project(folder: Path, clips: dict[str, tuple[str, str]], n_frames: int = 8, *,
                 server: str | None = None) -> Store:
    """An open project whose clips (id -> (actor, group)) each have `n_frames` frames at source
    indices 0, 3, 6, ..., every one with a real 100x100 face crop. `server`: its database on
    that PostgreSQL server."""
    store = Store.create(folder, annotator="tester", server=server)
    photos = [read_image(p) for p in sorted(FACES.iterdir()) if p.suffix in (".jpg", ".png")]
    for clip, (actor, group) in clips.items():
        store.add_clip(Clip(clip, actor=actor, group=group, fps=25.0))
        ids = store.add_frames(clip, [(i * 3, i * 120.0, None, None) for i in range(n_frames)])
        for k, fid in enumerate(ids):
            crop = f"crops/{clip}/{k + 1:06d}.jpg"
            (store.folder / crop).parent.mkdir(parents=True, exist_ok=True)
            write_jpeg(store.folder / crop, cv2.resize(photos[k % len(photos)], (100, 100)))
            store.add_face(fid, crop=crop)
    return store
