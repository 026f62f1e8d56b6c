"""Bringing clips into a project: a clip table, video files, or a FEASSTM-FAF folder made by hand.

Each import is a job (a generator): it commits one clip, then yields progress, so a crash or a
cancel loses at most the clip in flight. Problems are reported as `file:line: reason`.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.files import IMAGE_MAX_BYTES, NotReadable, read_regular
from feasstm_gui.core.formats.clips_csv import ClipRow, read_clip_table
from feasstm_gui.core.formats.faf import FafClip, scan_faf_folder
from feasstm_gui.core.jobs import Job, JobResult, Progress
from feasstm_gui.core.names import (
    clip_id_problem,
    clip_key,
    fs_text,
    has_undecodable,
    normal_id,
    quote_name,
)
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
    ids = ClipIds(store)
    kept = []
    for clip in clips:  # 'd1' beside 'D1', or a look-alike of a clip already there: skipped
        twin = ids.twin(clip.clip_id)
        if twin is None:
            ids.add(clip.clip_id)
            kept.append(clip)
        else:
            problems.append(Problem.at(clip.image_dir, 0, f"{twin_reason(clip.clip_id, twin)}; "
                                       "clip skipped"))
    clips = kept
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
        for image in clip.images:  # under its name as text (a GBK name read as GBK)
            _copy_file(image.path, dest / image.name)
        with store.transaction():
            store.add_clip(Clip(clip.clip_id, source="faf", extract_status="done",
                                align_status="done"), replace=replace)
            rows = [(n, None, None, image.name) for n, image in enumerate(clip.images, 1)]
            ids = store.add_frames(clip.clip_id, rows)
            # a folder path with bytes that are not UTF-8 is stored as \xNN (SQLite takes text)
            shown = quote_name(str(clip.image_dir))
            params = {"source": "faf-import", "folder": shown}
            for frame_id, image in zip(ids, clip.images):
                store.add_face(frame_id, crop=(rel_dir / image.name).as_posix(),
                               params=params)
            store.import_labels([(fid, im.code) for fid, im in zip(ids, clip.images) if im.code],
                                f"import-faf {shown}")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        try:  # and crops/<clip>/ when this import made it (no empty folder left behind)
            dest.parent.rmdir()
        except OSError:
            pass  # not empty: an earlier import of the clip is there
        raise
    for old in old_dirs:  # the replaced clip's files, once the database no longer names them
        if old != dest:
            shutil.rmtree(old, ignore_errors=True)


def _clip_dirs(store: Store, clip_id: str) -> list[Path]:
    base = store.folder / CROPS_DIR / clip_id
    return [p for p in base.iterdir() if p.is_dir()] if base.is_dir() else []


def _copy_file(src: Path, dst: Path) -> None:
    """Byte-for-byte copy; a full disk names the file and leaves no partial file behind.
    The source is read as a regular file of at most IMAGE_MAX_BYTES (it was checked when the
    folder was scanned, but may have been swapped for a pipe or a link to /dev/zero since)."""
    try:
        data = read_regular(src, IMAGE_MAX_BYTES)
    except NotReadable as exc:
        raise FeasstmError(f"cannot read it any more: {exc.reason}", path=src) from exc
    try:
        with open(dst, "xb") as f:
            f.write(data)
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
                  replace: bool = False, actor_photos: Sequence[str | Path] = ()) -> Job:
    """Add one clip per video file; the clip id is the file name without its extension.
    `actor_photos`: reference photos of the actor (issue 15), checked before anything is added
    (one face each, the same person as the actor's references already held: FeasstmError naming
    the file, nothing imported), stored as the actor's references once a clip is added."""
    refs: list[dict] = []
    if actor_photos:
        from feasstm_gui.core.faces.actors import photo_references

        if not actor.strip():
            raise FeasstmError("an actor's reference photo needs the actor's name (--actor): "
                               "the photo picks that actor in all their clips",
                               path=Path(actor_photos[0]))
        refs = photo_references(store, actor, list(actor_photos))
    rows = [(ClipRow(Path(v).stem, _absolute(v), work, actor, role, group, None, None, 0),
             Path(v)) for v in videos]
    result = yield from _add_video_clips(store, rows, replace, [])
    if refs and result.done:
        from feasstm_gui.core.store import identity as idstore

        idstore.add_actor_refs(store, refs)
        result.summary += f"; {len(refs)} reference photo(s) of {actor.strip()}"
    return result


def _absolute(path: str | Path) -> Path:
    """The path with links resolved; a symbolic link loop (RuntimeError from Path.resolve on
    Python < 3.13) keeps the plain absolute path, so probing the video names the loop."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


class ClipIds:
    """The project's clip ids by `clip_key`, to refuse a look-alike of one already there: 'D1'
    beside 'd1', or 'café' in NFD beside 'café' in NFC. Such twins would share one folder on
    Windows and macOS (and a project moves between systems), and a user cannot tell them apart
    in a list; they are refused everywhere."""

    def __init__(self, store: Store):
        self._by_key = {clip_key(c.id): c.id for c in store.clips()}

    def twin(self, clip_id: str) -> str | None:
        """The id already there that `clip_id` is a look-alike of (not itself), or None."""
        known = self._by_key.get(clip_key(clip_id))
        return known if known is not None and known != clip_id else None

    def add(self, clip_id: str) -> None:
        self._by_key.setdefault(clip_key(clip_id), clip_id)


def twin_reason(clip_id: str, twin: str) -> str:
    """Why `clip_id` is refused beside `twin` (see ClipIds)."""
    how = ("looks the same as (another Unicode form of)" if normal_id(clip_id) == normal_id(twin)
           else "differs only in case from")
    return (f"clip id {clip_id!r} {how} clip {twin!r}, already there; the two would share one "
            "folder on Windows and macOS: choose another id")


def _add_video_clips(store: Store, rows: Sequence[tuple[ClipRow, Path]], replace: bool,
                     problems: list[Problem]) -> Job:
    """Add each row's clip, one at a time; a row that cannot be added is reported."""
    added = 0
    ids = ClipIds(store)
    for n, (row, source) in enumerate(rows, 1):
        problem = _add_video_clip(store, row, replace=replace, source=source, ids=ids)
        if problem:
            problems.append(problem)
            yield Progress(n, len(rows), row.clip, [problem])
            continue
        added += 1
        yield Progress(n, len(rows), row.clip)
    return JobResult(done=added, problems=problems, failed=added == 0,
                     summary=f"added {added} clips")


def _add_video_clip(store: Store, row: ClipRow, *, replace: bool, source: Path,
                    ids: ClipIds) -> Problem | None:
    where = source if row.line else (row.video or source)
    if row.video is not None and has_undecodable(str(row.video)):
        return Problem.at(where, row.line, _not_utf8(row.video))
    problem = clip_id_problem(row.clip)
    if problem:
        return Problem.at(where, row.line, f"bad clip id {row.clip!r}: {problem}")
    row = dataclasses.replace(row, clip=normal_id(row.clip))
    twin = ids.twin(row.clip)
    if twin is not None:
        return Problem.at(where, row.line, twin_reason(row.clip, twin))
    if store.has_clip(row.clip) and not replace:
        return Problem.at(where, row.line, f"clip '{row.clip}' is already in the project; "
                          "use --replace to replace it")
    if row.video is None:
        return Problem.at(where, row.line, f"clip '{row.clip}' names no video")
    from feasstm_gui.core.ingest.media import probe_video

    try:
        info = probe_video(row.video)
    except FeasstmError as exc:
        # a video given by name is named as given (not as /dev/zero, where its link leads)
        return Problem.at(row.video if row.line else source, 0, _strip_path(str(exc), row.video))
    if info.duration_s and row.start_s is not None and row.start_s >= info.duration_s:
        return Problem.at(where, row.line, f"start_s {row.start_s} is past the end of the "
                          f"video ({info.duration_s:.2f} s)")
    store.add_clip(Clip(row.clip, video=str(row.video), work=row.work, actor=row.actor,
                        role=row.role, group=row.group, start_s=row.start_s, end_s=row.end_s,
                        fps=info.fps), replace=replace)
    ids.add(row.clip)
    return None


def _not_utf8(path: Path) -> str:
    """Why a video path that is not UTF-8 is refused, with the name it has as GBK if it has."""
    bad = next(part for part in path.parts if has_undecodable(part))
    gbk = fs_text(bad)
    reading = f" (as GBK it reads {gbk!r})" if gbk else ""
    return (f"the name {quote_name(bad)} is not UTF-8{reading}; the project stores paths as "
            "UTF-8: rename it (e.g. convmv -f gbk -t utf-8), then import again")


def _strip_path(message: str, path: Path) -> str:
    """'path: reason' -> 'reason' (the Problem names the path itself)."""
    prefix = f"{quote_name(str(path))}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def remove_unreferenced_files(store: Store, clip_ids: Iterable[str]) -> None:
    """Delete a removed clip's image folders (after the database forgot them)."""
    for clip_id in clip_ids:
        if store.has_clip(clip_id):
            continue
        for base in (store.folder / CROPS_DIR / clip_id, store.folder / "frames" / clip_id):
            if base.is_dir() and os.path.commonpath([base, store.folder]) == str(store.folder):
                shutil.rmtree(base, ignore_errors=True)
