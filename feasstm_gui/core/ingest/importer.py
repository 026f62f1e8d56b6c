"""Bringing clips into a project: a clip table, video files, or a FEASSTM-FAF folder made by hand.

Each import is a job (a generator): it commits one clip, then yields progress, so a crash or a
cancel loses at most the clip in flight. Problems are reported as `file:line: reason`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.formats.clips_csv import ClipRow, read_clip_table
from feasstm_gui.core.formats.faf import FafClip, scan_faf_folder
from feasstm_gui.core.jobs import Job, JobResult, Progress
from feasstm_gui.core.names import clip_id_problem
from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import CROPS_DIR, Clip, Store


def import_faf(store: Store, folder: str | Path, *, replace: bool = False) -> Job:
    """Import a FEASSTM-FAF-style folder (either layout of DATASET.md).

    Every image that decodes completely is copied into the project and becomes a frame with its
    aligned face; its label comes with it when its TXT line is valid. A clip id already in the
    project is refused (nothing imported) unless `replace`. The layout itself being wrong, or
    nothing importable, fails the job (exit status 2)."""
    folder = Path(folder)
    clips, problems = scan_faf_folder(folder)  # raises FeasstmError when the layout is wrong
    existing = [c.clip_id for c in clips if store.has_clip(c.clip_id)]
    if existing and not replace:
        raise FeasstmError(
            "clip id(s) already in the project: " + ", ".join(repr(c) for c in existing)
            + "; nothing was imported. Use --replace to replace them", path=folder)
    total = sum(len(c.images) for c in clips)
    yield Progress(0, total, "scanned", list(problems))
    done = 0
    for clip in clips:
        if not clip.images:
            continue
        _import_faf_clip(store, clip, replace=replace)
        done += len(clip.images)
        yield Progress(done, total, clip.clip_id)
    if done == 0:
        problems.append(Problem.at(folder, 0, "no readable image found; nothing imported"))
    return JobResult(done=done, problems=list(problems), failed=done == 0,
                     summary=f"imported {done} images in {sum(bool(c.images) for c in clips)} "
                     "clips")


def _import_faf_clip(store: Store, clip: FafClip, *, replace: bool) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    rel_dir = Path(CROPS_DIR) / clip.clip_id / f"import-{stamp}"
    dest = store.folder / rel_dir
    old_dirs = _clip_dirs(store, clip.clip_id) if replace else []
    dest.mkdir(parents=True, exist_ok=False)
    try:
        for image in clip.images:
            _copy_file(image.path, dest / image.path.name)
        with store.transaction():
            store.add_clip(Clip(clip.clip_id, source="faf", extract_status="done",
                                align_status="done"), replace=replace)
            rows = [(n, None, None, image.path.name) for n, image in enumerate(clip.images, 1)]
            ids = store.add_frames(clip.clip_id, rows)
            params = {"source": "faf-import", "folder": str(clip.image_dir)}
            for frame_id, image in zip(ids, clip.images):
                store.add_face(frame_id, crop=(rel_dir / image.path.name).as_posix(),
                               params=params)
            store.import_labels([(fid, im.code) for fid, im in zip(ids, clip.images) if im.code],
                                f"import-faf {clip.image_dir}")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    for old in old_dirs:  # the replaced clip's files, once the database no longer names them
        if old != dest:
            shutil.rmtree(old, ignore_errors=True)


def _clip_dirs(store: Store, clip_id: str) -> list[Path]:
    base = store.folder / CROPS_DIR / clip_id
    return [p for p in base.iterdir() if p.is_dir()] if base.is_dir() else []


def _copy_file(src: Path, dst: Path) -> None:
    """Byte-for-byte copy; a full disk names the file and leaves no partial file behind."""
    try:
        shutil.copyfile(src, dst)
    except OSError as exc:
        dst.unlink(missing_ok=True)
        raise FeasstmError(f"cannot copy into the project ({exc.strerror or exc})",
                           path=dst) from exc


def import_clip_table(store: Store, table: str | Path, *, replace: bool = False) -> Job:
    """Add the clips of a clip table CSV (clip, video, work, actor, role, group[, start_s,
    end_s]). Frames are extracted later (`feasstm extract`)."""
    rows, problems = read_clip_table(table)
    yield Progress(0, len(rows), "read", list(problems))
    result = yield from _add_video_clips(store, [(row, Path(table)) for row in rows], replace,
                                         problems)
    added = [r for r in rows if r.actor_photo is not None and store.has_clip(r.clip)]
    if added:
        from feasstm_gui.core.faces.actors import import_actor_photos

        found = import_actor_photos(store, [(r.clip, r.actor_photo, Path(table), r.line)
                                            for r in added])
        if found:
            result.problems.extend(found)
            yield Progress(len(rows), len(rows), "actor photos", found)
    return result


def import_videos(store: Store, videos: Sequence[str | Path], *, work: str = "",
                  actor: str = "", role: str = "", group: str = "",
                  replace: bool = False) -> Job:
    """Add one clip per video file; the clip id is the file name without its extension."""
    rows = [(ClipRow(Path(v).stem, Path(v).resolve(), work, actor, role, group, None, None, 0),
             Path(v)) for v in videos]
    return (yield from _add_video_clips(store, rows, replace, []))


def _add_video_clips(store: Store, rows: Sequence[tuple[ClipRow, Path]], replace: bool,
                     problems: list[Problem]) -> Job:
    """Add each row's clip, one at a time; a row that cannot be added is reported."""
    added = 0
    for n, (row, source) in enumerate(rows, 1):
        problem = _add_video_clip(store, row, replace=replace, source=source)
        if problem:
            problems.append(problem)
            yield Progress(n, len(rows), row.clip, [problem])
            continue
        added += 1
        yield Progress(n, len(rows), row.clip)
    return JobResult(done=added, problems=problems, failed=added == 0,
                     summary=f"added {added} clips")


def _add_video_clip(store: Store, row: ClipRow, *, replace: bool, source: Path) -> Problem | None:
    where = source if row.line else (row.video or source)
    problem = clip_id_problem(row.clip)
    if problem:
        return Problem.at(where, row.line, f"bad clip id {row.clip!r}: {problem}")
    if store.has_clip(row.clip) and not replace:
        return Problem.at(where, row.line, f"clip '{row.clip}' is already in the project; "
                          "use --replace to replace it")
    if row.video is None:
        return Problem.at(where, row.line, f"clip '{row.clip}' names no video")
    from feasstm_gui.core.ingest.media import probe_video

    try:
        info = probe_video(row.video)
    except FeasstmError as exc:
        return Problem.at(row.video, 0, _strip_path(str(exc), row.video))
    if row.end_s is not None and info.duration_s and row.start_s is not None \
            and row.start_s >= info.duration_s:
        return Problem.at(where, row.line, f"start_s {row.start_s} is past the end of the "
                          f"video ({info.duration_s:.2f} s)")
    store.add_clip(Clip(row.clip, video=str(row.video), work=row.work, actor=row.actor,
                        role=row.role, group=row.group, start_s=row.start_s, end_s=row.end_s,
                        fps=info.fps), replace=replace)
    return None


def _strip_path(message: str, path: Path) -> str:
    """'path: reason' -> 'reason' (the Problem names the path itself)."""
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def remove_unreferenced_files(store: Store, clip_ids: Iterable[str]) -> None:
    """Delete a removed clip's image folders (after the database forgot them)."""
    for clip_id in clip_ids:
        if store.has_clip(clip_id):
            continue
        for base in (store.folder / CROPS_DIR / clip_id, store.folder / "frames" / clip_id):
            if base.is_dir() and os.path.commonpath([base, store.folder]) == str(store.folder):
                shutil.rmtree(base, ignore_errors=True)
