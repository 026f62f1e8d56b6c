"""The jobs that turn a clip into aligned faces: extract, align, re-align.

Each is a generator (see core/jobs.py): it commits a unit of work to the store, then yields a
Progress. Killed and run again, a job resumes where the store says it stopped and ends with the
same result as an uninterrupted run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.jobs import Job, JobResult, Progress
from feasstm_gui.core.problems import Problem
from feasstm_gui.core.store import FRAMES_DIR, Store

#: Frames committed together by the extraction job (a kill loses at most this many).
EXTRACT_BATCH = 25


def extract_clip(store: Store, clip_id: str, *, fps: float | None = None) -> Job:
    """Decode a clip's video once, front to back, and store its frames as JPEG files.

    Frames already in the project are not written again. A damaged video keeps the frames read
    before the damage; the clip is marked `damaged` with the message."""
    from feasstm_gui.core.media import extract_frames

    clip = store.clip(clip_id)
    if clip.source != "video" or not clip.video:
        return JobResult(summary=f"clip '{clip_id}' has no video (imported as faces)")
    rel_dir = Path(FRAMES_DIR) / clip_id
    rate = fps if fps is not None else store.param("extract.fps")
    existing = store.frame_indices(clip_id)
    extraction = extract_frames(clip.video, store.folder / rel_dir, fps=rate,
                                start_s=clip.start_s, end_s=clip.end_s, existing=existing,
                                quality=int(store.param("extract.jpeg_quality", 95)))
    if clip.fps is None and extraction.info.fps:
        store.update_clip(clip_id, fps=extraction.info.fps)
    total = _expected_frames(extraction.info, clip, rate)
    done = len(existing)
    pending: list[tuple[int, float, str, None]] = []
    try:
        for frame in extraction:
            pending.append((frame.index, float(frame.time_ms),
                            (rel_dir / frame.path.name).as_posix(), None))
            if len(pending) >= EXTRACT_BATCH:
                store.add_frames(clip_id, pending)
                done += len(pending)
                pending = []
                yield Progress(done, max(total, done), f"{clip_id}: frame {frame.index}")
    finally:
        if pending:  # frames on disk and complete: commit them, even when stopping early
            store.add_frames(clip_id, pending)
            done += len(pending)
        extraction.close()
    result = extraction.result
    problems: list[Problem] = []
    if result is not None and result.damage is not None:
        problems.append(result.damage.problem())
        store.update_clip(clip_id, extract_status="damaged", error=str(result.damage))
    else:
        store.update_clip(clip_id, extract_status="done", error=None)
    yield Progress(done, done, f"{clip_id}: extracted", problems)
    written = result.written if result else 0
    return JobResult(done=written, problems=problems,
                     summary=f"{clip_id}: {written} new frames, {done} in all")


def _expected_frames(info, clip, rate) -> int:
    duration = info.duration_s or 0.0
    start = clip.start_s or 0.0
    end = clip.end_s if clip.end_s is not None else duration
    span = max(0.0, end - start)
    fps = rate or info.fps or 25.0
    return max(1, int(round(span * fps))) if span else max(1, info.frame_count)


def for_clips(store: Store, clip_ids: Sequence[str] | None, make_job, what: str) -> Job:
    """Run a per-clip job over several clips (all by default). A clip that fails is reported
    and the others go on; the whole fails only when no clip could be done."""
    ids = list(clip_ids) if clip_ids else [c.id for c in store.clips()]
    unknown = [c for c in ids if not store.has_clip(c)]
    if unknown:
        raise FeasstmError("no such clip: " + ", ".join(repr(c) for c in unknown),
                           path=store.folder)
    total = JobResult()
    ok = 0
    for clip_id in ids:
        try:
            result = yield from make_job(store, clip_id)
        except FeasstmError as exc:
            problem = Problem.at(exc.path or store.folder, exc.line or 0,
                                 _strip_where(str(exc), exc))
            total.problems.append(problem)
            yield Progress(0, None, f"{clip_id}: {what} failed", [problem])
            continue
        ok += 1
        if isinstance(result, JobResult):
            total.done += result.done
            total.problems.extend(result.problems)
    total.failed = ok == 0 and bool(ids)
    total.summary = f"{what}: {ok} of {len(ids)} clips, {total.done} frames"
    return total


def _strip_where(message: str, exc: FeasstmError) -> str:
    where = f"{exc.path}:{exc.line}: " if exc.line is not None else f"{exc.path}: "
    return message[len(where):] if exc.path and message.startswith(where) else message


def frames_by_key(store: Store, keys: Iterable[tuple[str, int]]) -> list[int]:
    """Frame ids for (clip, source frame index) pairs; an unknown one is an error naming it."""
    return [store.frame_id(clip, index) for clip, index in keys]
