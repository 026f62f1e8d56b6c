"""A synthetic project of many clips, built fast for the scale benchmarks (issue 19): gui.py
and export.py with `--clips` in the thousands. Not a test; not timed by the benchmarks.

The rows go in with plain SQL in one transaction (the schema of core/store/schema.py); every
crop (and frame image, when asked) is a hard link to one of a few real JPEG images made from
tests/data, so a million frames cost directory entries, not image bytes.

Clip c is in one of four states, c % 4: 0 nothing labelled, 1 half labelled (in progress),
2 all labelled, 3 all labelled with some frames deleted and a few open suggestions. Work, actor
and group vary (`作品{c % 40}`, `演员{c // 8}`, A/B/C). A second annotator ("other") labels the
labelled frames of every other clip, and differs on one frame in 11, so the review grid, the
disagreement views and the agreement panel have work across all clips.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from feasstm_gui.core.store import Store
from feasstm_gui.core.store.store import utc_now


def link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def clip_name(c: int) -> str:
    return f"演员{c // 8:04d} 片段{c:05d}"


def build_scale(folder: Path, n_frames: int, n_clips: int,
                crops: list[Path], frames: list[tuple[Path, tuple[int, int]]] | None = None,
                *, annotator: str = "bench") -> dict:
    """Create the project in `folder`. `crops`: images to hard-link as crops; `frames`: (image,
    (w, h)) to hard-link as full frames (None: no frame images). Returns what was built."""
    t0 = time.perf_counter()
    store = Store.create(folder, annotator=annotator, name=f"scale benchmark {n_frames:,}")
    conn = store._conn  # noqa: SLF001 - bulk set-up, bypassing the edit log on purpose
    now = utc_now()
    per_clip = [n_frames // n_clips + (1 if c < n_frames % n_clips else 0)
                for c in range(n_clips)]
    frame_id = 0
    links = 0
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO clips (id, work, actor, grp, position, created_at, "
                     "extract_status, align_status) VALUES (?,?,?,?,?,?,'done','done')",
                     [(clip_name(c), f"作品{c % 40:02d}", f"演员{c // 8:04d}", "ABC"[c % 3], c,
                       now) for c in range(n_clips)])
    frame_rows, faces, labels, deletions, suggestions = [], [], [], [], []
    for c, n in enumerate(per_clip):
        clip = clip_name(c)
        (folder / "crops" / clip).mkdir()
        if frames:
            (folder / "frames" / clip).mkdir()
        state = c % 4
        labelled = 0 if state == 0 else (n // 2 if state == 1 else n)
        for i in range(n):
            frame_id += 1
            crop = f"crops/{clip}/{i:06d}.jpg"
            link(crops[frame_id % len(crops)], folder / crop)
            links += 1
            image = None
            box = lms = None
            if frames:
                src, (w, h) = frames[frame_id % len(frames)]
                image = f"frames/{clip}/{i:06d}.jpg"
                link(src, folder / image)
                links += 1
                box = f"[{w * 0.3:.1f}, {h * 0.2:.1f}, {w * 0.7:.1f}, {h * 0.6:.1f}]"
                lms = (f"[[{w * .42:.1f}, {h * .36:.1f}], [{w * .58:.1f}, {h * .36:.1f}], "
                       f"[{w * .5:.1f}, {h * .44:.1f}], [{w * .44:.1f}, {h * .52:.1f}], "
                       f"[{w * .56:.1f}, {h * .52:.1f}]]")
            frame_rows.append((frame_id, clip, i, i * 40.0, image, 1))
            faces.append((frame_id, 1, box, lms, 0.9 + (i % 100) / 1000, crop,
                           50.0 + (i * 37) % 200, now))
            if i < labelled:
                code = 1 + (i // 30 + c) % 7
                labels.append((frame_id, annotator, code, now))
                if c % 2 == 0:
                    other = code if frame_id % 11 else 1 + code % 7
                    labels.append((frame_id, "other", other, now))
            if state == 3 and i % 17 == 5:
                deletions.append((frame_id, "blur", annotator, now))
            if state == 3 and i % 29 == 7:
                suggestions.append((frame_id, "incomplete", 0.5))
        if len(frame_rows) > 50_000 or c == n_clips - 1:
            conn.executemany("INSERT INTO frames (id, clip, frame_index, time_ms, image, "
                             "face_version) VALUES (?,?,?,?,?,?)", frame_rows)
            conn.executemany("INSERT INTO faces (frame_id, version, box, landmarks, prob, crop, "
                             "sharpness, created_at) VALUES (?,?,?,?,?,?,?,?)", faces)
            frame_rows.clear()
            faces.clear()
    conn.executemany("INSERT INTO labels (frame_id, annotator, code, labelled_at) "
                     "VALUES (?,?,?,?)", labels)
    conn.executemany("INSERT INTO deletions (frame_id, reason, annotator, at) VALUES (?,?,?,?)",
                     deletions)
    conn.executemany("INSERT INTO suggestions (frame_id, reason, score) VALUES (?,?,?)",
                     suggestions)
    for name in (annotator, "other"):
        conn.execute("INSERT OR IGNORE INTO annotators (name, created_at) VALUES (?, ?)",
                     (name, now))
    conn.execute("COMMIT")
    store.close()
    return {"frames": frame_id, "clips": n_clips, "labels": len(labels),
            "deletions": len(deletions), "links": links,
            "build_s": round(time.perf_counter() - t0, 1)}
